package lookpath

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindSearchesPathInOrderThenTheUsualDirectories(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	for _, d := range []string{first, second} {
		os.WriteFile(filepath.Join(d, "vc-test-tool"), []byte("#!/bin/sh\n"), 0o755)
	}
	os.WriteFile(filepath.Join(first, "not-executable"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(first, "a-directory"), 0o755)
	env := map[string]string{"PATH": first + ":" + second}
	getenv := func(k string) string { return env[k] }

	if p, err := Find(getenv, "vc-test-tool"); err != nil || p != filepath.Join(first, "vc-test-tool") {
		t.Fatalf("Find = %q, %v; want the first PATH entry's", p, err)
	}
	for _, name := range []string{"not-executable", "a-directory", "vc-no-such-tool"} {
		if p, err := Find(getenv, name); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Find(%s) = %q, %v; want an error naming it", name, p, err)
		}
	}
	// sh is in the usual directories even without any PATH.
	if p, err := Find(func(string) string { return "" }, "sh"); err != nil || !strings.HasPrefix(p, "/") {
		t.Errorf("Find(sh) without PATH = %q, %v", p, err)
	}
}

func TestSiblingPrefersTheRunningBinarysDirectory(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary is its own sibling; a program of the same name on
	// PATH comes second.
	name := filepath.Base(exe)
	onPath := t.TempDir()
	os.WriteFile(filepath.Join(onPath, name), []byte("#!/bin/sh\n"), 0o755)
	getenv := func(k string) string { return map[string]string{"PATH": onPath}[k] }
	if p, err := Sibling(getenv, name); err != nil || p != exe {
		t.Fatalf("Sibling(%s) = %q, %v; want %q", name, p, err, exe)
	}
	// Not beside: found on PATH.
	os.WriteFile(filepath.Join(onPath, "vc-test-only-on-path"), []byte("#!/bin/sh\n"), 0o755)
	if p, err := Sibling(getenv, "vc-test-only-on-path"); err != nil || p != filepath.Join(onPath, "vc-test-only-on-path") {
		t.Fatalf("Sibling of a program on PATH = %q, %v", p, err)
	}
	if _, err := Sibling(getenv, "vc-no-such-tool"); err == nil || !strings.Contains(err.Error(), "vc-no-such-tool: not found in "+filepath.Dir(exe)) {
		t.Fatalf("Sibling of a missing program: %v", err)
	}
}

func TestSiblingRefusesAProgramOthersCouldChange(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vc-test-tool")
	os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755)
	getenv := func(k string) string { return map[string]string{"PATH": dir}[k] }
	if _, err := Sibling(getenv, "vc-test-tool"); err != nil {
		t.Fatalf("own program refused: %v", err)
	}
	os.Chmod(p, 0o775)
	if _, err := Sibling(getenv, "vc-test-tool"); err == nil || !strings.Contains(err.Error(), "chmod go-w") {
		t.Errorf("group-writable program: %v", err)
	}
	os.Chmod(p, 0o755)
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the owner check needs root, and CI=true runs as root")
		}
		t.Log("not root: the owner check was not tried")
		return
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := Sibling(getenv, "vc-test-tool"); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("another user's program: %v", err)
	}
}
