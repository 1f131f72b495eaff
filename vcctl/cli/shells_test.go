//go:build shell

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

// TestCompletionInRealShells sources each script that `vcctl completion`
// prints into Debian's bash, zsh and fish, asks them to complete, and checks
// that the job ids and switch names come from a real server through the
// vcctl binary; and lints the man page with mandoc.
func TestCompletionInRealShells(t *testing.T) {
	need := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s is not installed (scripts/deps.sh %s=%s)", name, name, name)
		}
		return p
	}
	bash, zsh, fish, mandoc := need("bash"), need("zsh"), need("fish"), need("mandoc")
	dir := t.TempDir()
	bin := filepath.Join(dir, "vcctl")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/virtcloud/virtcloud/cmd/vcctl").CombinedOutput(); err != nil {
		t.Fatalf("build vcctl: %v\n%s", err, out)
	}
	f := audittest.Start(t)
	f.Srv.Activate("4711.pbs", "skirit82-1")
	env := append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "VIRTCLOUD_SERVER="+f.URL, "VIRTCLOUD_TOKEN="+leasetest.ViewerToken)
	script := func(shell string) string {
		out, err := exec.Command(bin, "completion", shell).Output()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "vcctl."+shell)
		os.WriteFile(p, out, 0o644)
		return p
	}
	sh := func(prog string, args ...string) string {
		t.Helper()
		cmd := exec.Command(prog, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
		}
		return strings.Join(strings.Fields(string(out)), " ")
	}

	bashScript := script("bash")
	bashComplete := func(line string) string {
		return sh(bash, "-c", `source "$1"; read -ra COMP_WORDS <<<"$2"; [[ $2 == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _vcctl; printf '%s\n' "${COMPREPLY[@]}"`, "bash", bashScript, line)
	}
	for line, want := range map[string]string{
		"vcctl le":            "lease",
		"vcctl lease show ":   "4711.pbs",
		"vcctl switch show p": "plzen-sw1 praha-sw1",
		"vcctl audit --sw":    "--switch",
	} {
		if got := bashComplete(line); got != want {
			t.Errorf("bash: %q<TAB> gives %q, want %q", line, got, want)
		}
	}

	// zsh: the completion function runs as compsys would call it; _describe
	// and compdef stand in for compinit, which needs a terminal.
	zshScript := script("zsh")
	zshComplete := func(line string) string {
		return sh(zsh, "-fc", `compdef() { :; }; _describe() { print -l -- "${(@P)2}"; }; _files() { print FILES; }
source "$1"; words=(${(z)2}); [[ $2 == *" " ]] && words+=(""); CURRENT=${#words}; _vcctl`, "zsh", zshScript, line)
	}
	for line, want := range map[string]string{
		"vcctl lease ":          "list show create commit renew patch release",
		"vcctl lease commit ":   "4711.pbs",
		"vcctl audit --switch ": "brno-sw1 plzen-sw1 praha-sw1",
	} {
		if got := zshComplete(line); got != want {
			t.Errorf("zsh: %q<TAB> gives %q, want %q", line, got, want)
		}
	}

	fishScript := script("fish")
	for line, want := range map[string]string{
		"vcctl ":                     "audit completion lease man pool store switch", // fish sorts
		"vcctl lease release ":       "4711.pbs",
		"vcctl switch show br":       "brno-sw1",
		"vcctl --output json lease ": "commit create list patch release renew show",
	} {
		if got := sh(fish, "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, fishScript, line); got != want {
			t.Errorf("fish: %q<TAB> gives %q, want %q", line, got, want)
		}
	}

	page := filepath.Join(dir, "vcctl.8")
	out, err := exec.Command(bin, "man").Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(page, out, 0o644)
	if lint, err := exec.Command(mandoc, "-Tlint", "-Werror", page).CombinedOutput(); err != nil {
		t.Errorf("mandoc -Tlint: %v\n%s", err, lint)
	}
}
