package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "virtcloud.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(args ...string) (int, string) {
	var out, errOut bytes.Buffer
	code := Main(append([]string{"leasesrv"}, args...), &out, &errOut)
	return code, out.String() + errOut.String()
}

// TestDuplicateSecretsStopCheckConfigAndStart: a viewer entry given the
// admin's secret is refused by check-config and by serve, naming both.
func TestDuplicateSecretsStopCheckConfigAndStart(t *testing.T) {
	text := strings.Replace(leasetest.Config, `secret = "viewer-secret-012345678"`, `secret = "admin-secret-0123456789"`, 1)
	path := writeConfig(t, text)
	want := `tokens[4].secret: token "viewer" has the same secret as token "admin" (` + path + `:30: tokens[0].secret)`
	if code, out := run("check-config", path); code != 1 || !strings.Contains(out, path+":47: "+want) {
		t.Fatalf("check-config: %d %q, want 1 and %q", code, out, want)
	}
	if code, out := run("serve", "--config", path); code != 2 || !strings.Contains(out, want) {
		t.Fatalf("serve: %d %q, want 2 and %q", code, out, want)
	}
}

// TestMalformedRedisURLIsNotEchoed: a --redis or VIRTCLOUD_REDIS URL that
// does not parse is refused without its password.
func TestMalformedRedisURLIsNotEchoed(t *testing.T) {
	path := writeConfig(t, leasetest.Config)
	const password = "Pw0rd-s3cret"
	for _, u := range []string{"redis://:" + password + "@127.0.0.1:63x79/0", "redis://u:" + password + "%zz@127.0.0.1:6379/0"} {
		code, out := run("serve", "--config", path, "--redis", u)
		if code != 2 || strings.Contains(out, password) || !strings.Contains(out, "--redis") {
			t.Errorf("--redis %s: %d %q, want 2 and no password", u, code, out)
		}
		t.Setenv("VIRTCLOUD_REDIS", u)
		code, out = run("serve", "--config", path)
		if code != 2 || strings.Contains(out, password) || !strings.Contains(out, "VIRTCLOUD_REDIS") {
			t.Errorf("VIRTCLOUD_REDIS=%s: %d %q, want 2 and no password", u, code, out)
		}
	}
}

// TestCheckConfigShowsEachSwitchAsItsDriverReadIt: the shipped file passes,
// each switch is described by its driver without its secrets, and the
// drivers' keys are checked here: the test-only host key option of the ssh
// driver is an unknown key in a file.
func TestCheckConfigShowsEachSwitchAsItsDriverReadIt(t *testing.T) {
	code, out := run("check-config", "../../contrib/virtcloud.toml")
	want := "switch brno-sw1 at site brno: snmp driver, 192.0.2.10:161, SNMPv2c with a community\n"
	if code != 0 || !strings.Contains(out, want) || strings.Contains(out, `"private"`) {
		t.Fatalf("check-config contrib/virtcloud.toml: %d\n%s\nwant 0 and %q", code, out, want)
	}
	text, err := os.ReadFile("../../contrib/virtcloud.toml")
	if err != nil {
		t.Fatal(err)
	}
	ssh := strings.Replace(string(text), `driver = "snmp"                 # snmp | ssh`,
		"driver = \"ssh\"\ndialect = \"procurve\"\nusername = \"vc\"\npassword = \"pw-s3cret\"\ninsecure_ignore_host_key_for_tests = true", 1)
	ssh = strings.Replace(ssh, "version = \"2c\"                  # snmp: 2c | 3\ncommunity = \"private\"\n", "", 1)
	path := writeConfig(t, ssh)
	lineOf := func(prefix string) int {
		for i, l := range strings.Split(ssh, "\n") {
			if strings.HasPrefix(l, prefix) {
				return i + 1
			}
		}
		t.Fatalf("no line %q", prefix)
		return 0
	}
	code, out = run("check-config", path)
	for _, want := range []string{
		fmt.Sprintf("%s:%d: switches.brno-sw1.insecure_ignore_host_key_for_tests: unknown key", path, lineOf("insecure_ignore_host_key_for_tests")),
		fmt.Sprintf("%s:%d: switches.brno-sw1.known_hosts: missing: the switch's host key must be checked", path, lineOf("[switches.brno-sw1]")),
		"2 problem(s)",
	} {
		if code != 1 || !strings.Contains(out, want) || strings.Contains(out, "s3cret") {
			t.Errorf("check-config: %d\n%s\nwant 1 and %q", code, out, want)
		}
	}
}
