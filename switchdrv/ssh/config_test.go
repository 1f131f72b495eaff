package ssh

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/internal/config"
)

// sshBase has one SSH switch whose own keys start on line 8.
const sshBase = `[sites.praha]
vlans = ["100-199"]
[switches.sw1]
site = "praha"
driver = "ssh"
address = "192.0.2.20"
uplinks = ["Gi1/0/48"]
`

const sshKeys = "dialect = \"cisco-ios\"\nusername = \"vc\"\npassword = \"pw-s3cret\"\nknown_hosts = \"/etc/virtcloud/known_hosts\"\n"

// TestConfigProblemsNameFileLineAndKey: the driver checks its own keys, one
// problem each with file:line and key; the test-only host key option is no
// key of a file.
func TestConfigProblemsNameFileLineAndKey(t *testing.T) {
	without := func(key string) string {
		var kept []string
		for _, l := range strings.SplitAfter(sshKeys, "\n") {
			if !strings.HasPrefix(l, key+" ") {
				kept = append(kept, l)
			}
		}
		return strings.Join(kept, "")
	}
	for name, tc := range map[string]struct{ keys, want string }{
		"no dialect":      {without("dialect"), `f.toml:3: switches.sw1.dialect: missing for the ssh driver (arista-eos, `},
		"unknown dialect": {strings.Replace(sshKeys, "cisco-ios", "nx-os", 1), `f.toml:8: switches.sw1.dialect: unknown dialect "nx-os" (arista-eos, `},
		"no username":     {without("username"), `f.toml:3: switches.sw1.username: missing for the ssh driver`},
		"no password":     {without("password"), `f.toml:3: switches.sw1.password: set password or key_file`},
		"no known_hosts":  {without("known_hosts"), `f.toml:3: switches.sw1.known_hosts: missing: the switch's host key must be checked`},
		"test option":     {sshKeys + "insecure_ignore_host_key_for_tests = true\n", `f.toml:12: switches.sw1.insecure_ignore_host_key_for_tests: unknown key`},
		"snmp key":        {sshKeys + "community = \"c\"\n", `f.toml:12: switches.sw1.community: unknown key`},
		"wrong type":      {sshKeys + "save = \"yes\"\n", `f.toml:12: switches.sw1.save: incompatible types`},
		"bad uplink":      {sshKeys, ""},
	} {
		t.Run(name, func(t *testing.T) {
			text := sshBase + tc.keys
			if name == "bad uplink" {
				text, tc.want = strings.Replace(text, "Gi1/0/48", "Gx1/0/48", 1), `f.toml:7: switches.sw1.uplinks: port name "Gx1/0/48" is not a cisco-ios port`
			}
			_, err := config.Parse("f.toml", []byte(text))
			var ps config.Problems
			if !errors.As(err, &ps) || len(ps) != 1 || !strings.Contains(ps[0].String(), tc.want) {
				t.Fatalf("got %v, want one problem: %s", err, tc.want)
			}
		})
	}
	c, err := config.Parse("f.toml", []byte(sshBase+sshKeys+"key_file = \"/etc/virtcloud/id_ed25519\"\nsave = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Switches["sw1"].Settings
	if want := "cisco-ios CLI as vc (key /etc/virtcloud/id_ed25519), host keys from /etc/virtcloud/known_hosts, saved 5s after the last change"; s.String() != want {
		t.Errorf("String = %q, want %q", s, want)
	}
	if out := fmt.Sprintf("%v %+v %#v", s, *s.(*Config), c.Switches["sw1"]); strings.Contains(out, "s3cret") {
		t.Errorf("settings show the password: %s", out)
	}
}
