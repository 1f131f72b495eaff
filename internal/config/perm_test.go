package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckPrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "virtcloud.toml")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for mode, ok := range map[os.FileMode]bool{0o600: true, 0o640: true, 0o660: true, 0o400: true,
		0o644: false, 0o602: false, 0o601: false, 0o666: false} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		err := CheckPrivate(p)
		if ok != (err == nil) {
			t.Errorf("mode %04o: err = %v", mode, err)
		}
		_, got, rerr := ReadPrivate(p)
		if (err == nil) != (rerr == nil) || rerr == nil && got.Perm() != mode {
			t.Errorf("mode %04o: ReadPrivate = %04o, %v; CheckPrivate said %v", mode, got.Perm(), rerr, err)
		}
		if err != nil && !strings.Contains(err.Error(), "chmod o-rwx") {
			t.Errorf("mode %04o: message does not say what to do: %v", mode, err)
		}
	}
	if err := CheckPrivate(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file accepted")
	}
	if _, _, err := ReadPrivate(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadPrivate of a missing file: %v", err)
	}
}
