package lookpath

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindSearchesPathThenFallback(t *testing.T) {
	dir := t.TempDir()
	tool := filepath.Join(dir, "vc-test-tool")
	os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "not-executable"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "a-directory"), 0o755)
	env := map[string]string{"PATH": dir}
	getenv := func(k string) string { return env[k] }

	if p, err := Find(getenv, "vc-test-tool"); err != nil || p != tool {
		t.Fatalf("Find = %q, %v; want %q", p, err, tool)
	}
	for _, name := range []string{"not-executable", "a-directory", "vc-no-such-tool"} {
		if p, err := Find(getenv, name); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Find(%s) = %q, %v; want an error naming it", name, p, err)
		}
	}
	// sh is in the fallback directories even without any PATH.
	if p, err := Find(func(string) string { return "" }, "sh"); err != nil || !strings.HasPrefix(p, "/") {
		t.Errorf("Find(sh) without PATH = %q, %v", p, err)
	}
}

func TestSiblingPrefersTheRunningBinarysDirectory(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary is its own sibling.
	name := filepath.Base(exe)
	if p, err := Sibling(func(string) string { return "" }, name); err != nil || p != exe {
		t.Fatalf("Sibling(%s) = %q, %v; want %q", name, p, err, exe)
	}
	if _, err := Sibling(func(string) string { return "" }, "vc-no-such-tool"); err == nil || !strings.Contains(err.Error(), "vc-no-such-tool: not found in "+filepath.Dir(exe)) {
		t.Fatalf("Sibling of a missing program: %v", err)
	}
}
