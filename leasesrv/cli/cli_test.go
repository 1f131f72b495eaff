package cli

import (
	"bytes"
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
