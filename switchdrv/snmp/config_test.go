package snmp

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// base has one SNMP switch whose own keys start on line 8.
const base = `[sites.brno]
vlans = ["100-199"]
[switches.sw1]
site = "brno"
driver = "snmp"
address = "192.0.2.10:161"
uplinks = ["24"]
`

// TestConfigProblemsNameFileLineAndKey: the driver checks its own keys, and
// each problem comes out as one line with file:line and key.
func TestConfigProblemsNameFileLineAndKey(t *testing.T) {
	v3 := "version = \"3\"\nuser = \"vc\"\n"
	for name, tc := range map[string]struct{ keys, want string }{
		"version":       {"version = \"1\"\ncommunity = \"c\"\n", `f.toml:8: switches.sw1.version: must be "2c" or "3", not "1"`},
		"no community":  {"version = \"2c\"\n", `f.toml:3: switches.sw1.community: missing for SNMP v2c`},
		"default 2c":    {"", `f.toml:3: switches.sw1.community: missing for SNMP v2c`},
		"no user":       {"version = \"3\"\n", `f.toml:3: switches.sw1.user: missing for SNMP v3`},
		"auth protocol": {v3 + "auth_protocol = \"sha1\"\nauth_key = \"k\"\n", `f.toml:10: switches.sw1.auth_protocol: unknown protocol "sha1" (md5, sha, sha224, sha256, sha384, sha512)`},
		"priv protocol": {v3 + "auth_protocol = \"sha\"\nauth_key = \"k\"\npriv_protocol = \"3des\"\npriv_key = \"p\"\n", `f.toml:12: switches.sw1.priv_protocol: unknown protocol "3des" (des, aes, aes192, aes256, aes192c, aes256c)`},
		"no auth key":   {v3 + "auth_protocol = \"sha\"\n", `f.toml:3: switches.sw1.auth_key: missing: auth_protocol is set`},
		"priv, no auth": {v3 + "priv_protocol = \"aes\"\npriv_key = \"p\"\n", `f.toml:10: switches.sw1.priv_protocol: needs auth_protocol`},
		"no priv key":   {v3 + "auth_protocol = \"sha\"\nauth_key = \"k\"\npriv_protocol = \"aes\"\n", `f.toml:3: switches.sw1.priv_key: missing: priv_protocol is set`},
		"wrong type":    {"community = 161\n", `f.toml:8: switches.sw1.community: must be a string, not a TOML int64`},
		"ssh key":       {"community = \"c\"\ndialect = \"junos\"\n", `f.toml:9: switches.sw1.dialect: unknown key`},
		"common type":   {"community = \"c\"\ntimeout = 5\n", `f.toml:9: switches.sw1.timeout: not a duration`},
	} {
		t.Run(name, func(t *testing.T) {
			text := base + tc.keys
			_, err := config.Parse("f.toml", []byte(text))
			var ps config.Problems
			if !errors.As(err, &ps) || len(ps) != 1 || !strings.Contains(ps[0].String(), tc.want) {
				t.Fatalf("got %v, want one problem: %s", err, tc.want)
			}
		})
	}
}

// TestSettingsHideTheirSecrets: check-config's description and every print
// of the settings leave the community and keys out.
func TestSettingsHideTheirSecrets(t *testing.T) {
	c, err := config.Parse("f.toml", []byte(base+`version = "3"
user = "vc"
auth_protocol = "SHA256"
auth_key = "auth-s3cret"
priv_protocol = "aes256c"
priv_key = "priv-s3cret"
context = "vlan-ctx"
`))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Switches["sw1"].Settings
	if want := "SNMPv3 as user vc, sha256 authentication and aes256c privacy, context vlan-ctx"; s.String() != want {
		t.Errorf("String = %q, want %q", s, want)
	}
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", s, s, *s.(*Config)), fmt.Sprint(c.Switches["sw1"])} {
		if strings.Contains(out, "s3cret") {
			t.Errorf("settings show a secret: %s", out)
		}
	}
}

// TestNewChecksSettingsBuiltInGo: settings that never went through a file
// are checked as strictly, the problem named by its key.
func TestNewChecksSettingsBuiltInGo(t *testing.T) {
	for _, tc := range []struct {
		set  config.SwitchSettings
		want string
	}{
		{&Config{Version: "3", User: "u", AuthProtocol: "sha", AuthKey: config.NewSecret("k"), PrivProtocol: "rot13"}, `priv_protocol: unknown protocol "rot13"`},
		{&Config{}, "community: missing for SNMP v2c"},
		{nil, "settings are <nil>, not *snmp.Config"},
	} {
		_, err := switchdrv.Open(&config.Switch{Driver: "snmp", Address: "127.0.0.1:161", Settings: tc.set}, switchdrv.Options{Name: "sw1"})
		if err == nil || !strings.Contains(err.Error(), "switch sw1: snmp: "+tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.set, err, tc.want)
		}
	}
}
