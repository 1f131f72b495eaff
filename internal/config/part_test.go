package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "virtcloud.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadPartOnlyDom0(t *testing.T) {
	p := writeFile(t, "[dom0]\ntrunk = \"eno1\"\n")
	if _, err := Load(p); err == nil {
		t.Fatal("Load of a file with only [dom0] passed; LoadPart exists because it does not")
	}
	c, err := LoadPart(p, "dom0")
	if err != nil {
		t.Fatal(err)
	}
	if c.Dom0.Trunk != "eno1" || c.Dom0.Mode != "classic" || c.Dom0.StateDir != "/run/virtcloud" {
		t.Fatalf("dom0 = %+v", *c.Dom0)
	}
}

func TestLoadPartErrors(t *testing.T) {
	for name, tc := range map[string]struct{ body, want string }{
		"unknown key":   {"[dom0]\ntrunc = \"eth0\"\n", ":2: dom0.trunc: unknown key"},
		"bad mode":      {"[dom0]\nmode = \"ovs\"\n", ":2: dom0.mode: must be"},
		"missing table": {"[hooks]\n", "dom0: missing"},
		"long name":     {"[dom0]\nbridge_pattern = \"virtcloud-br{vid}\"\n", "15-character"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadPart(writeFile(t, tc.body), "dom0")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
