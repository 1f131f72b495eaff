package hooks

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/hooks/gate"
	"github.com/virtcloud/virtcloud/internal/api"
)

// installTorque copies the binaries into a mom_priv the way
// `make install-torque` does: root-owned regular files, mode 0500.
func installTorque(t testing.TB) string {
	momPriv := filepath.Join(t.TempDir(), "mom_priv")
	os.MkdirAll(momPriv, 0o751)
	for name, bin := range map[string]string{"prologue": "vc-prologue", "prologue.parallel": "vc-prologue",
		"epilogue": "vc-epilogue", "epilogue.parallel": "vc-epilogue", "vc-hook": "vc-hook"} {
		b, err := os.ReadFile(binary(t, bin))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(momPriv, name), b, 0o500); err != nil {
			t.Fatal(err)
		}
	}
	return momPriv
}

// runAsMom runs a mom_priv script as pbs_mom does: as root, umask 0077,
// stdin /dev/null, in mom_priv, PATH=/bin:/usr/bin and a minimal
// environment (plus VIRTCLOUD_CONFIG, since the test cannot use
// /etc/virtcloud). Its stdout and stderr are what the job's .o/.e get.
func runAsMom(t *testing.T, momPriv, script string, args []string, env map[string]string) result {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("pbs_mom runs prologues as root; run this test as root")
	}
	cmd := exec.Command("/bin/sh", append([]string{"-c", `umask 0077; exec "$0" "$@"`, filepath.Join(momPriv, script)}, args[1:]...)...)
	cmd.Dir = momPriv
	cmd.Env = []string{"PATH=/bin:/usr/bin", "LANG=C"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func TestTorqueBinaryAsPbsMom(t *testing.T) {
	srv := startLeaseServer(t)
	n := newNode(t, "nodeA", nodeOpts{server: srv.URL})
	momPriv := installTorque(t)
	aux := filepath.Join(t.TempDir(), "aux")
	os.MkdirAll(aux, 0o755)
	nodefile := filepath.Join(aux, torqueJob)
	os.WriteFile(nodefile, []byte("nodeA\nnodeA\n"), 0o644)
	env := torqueEnv("0", nodefile)
	env["VIRTCLOUD_CONFIG"] = n.cfg

	r := runAsMom(t, momPriv, "prologue", torquePrologue("prologue", "nodes=1:ppn=2,walltime=00:05:00,other=vcluster", "batch"), env)
	if r.code != 0 {
		t.Fatalf("prologue: %+v", r)
	}
	mustContain(t, "job output", r.stdout, "virtcloud: job "+torqueJob+" cluster VLAN 10")
	if l := srv.lease(t, torqueJob); l.State != api.StateActive {
		t.Fatalf("lease: %+v", l)
	}
	// Files written under umask 0077 are private.
	info, err := os.Stat(filepath.Join(n.spool, "jobs", torqueJob+".json"))
	if err != nil || info.Mode().Perm()&0o077 != 0 {
		t.Fatalf("spool record: %v %v", info, err)
	}
	r = runAsMom(t, momPriv, "epilogue", torqueEpilogue("epilogue", "nodes=1:ppn=2,walltime=00:05:00,other=vcluster", "batch", "0"), env)
	if r.code != 0 {
		t.Fatalf("epilogue: %+v", r)
	}
	if l := srv.lease(t, torqueJob); l.State != api.StateReleased {
		t.Fatalf("lease after epilogue: %s", l.State)
	}
	r = runAsMom(t, momPriv, "prologue", torquePrologue("prologue", "nodes=1,other=vcluster:publish=everywhere", "batch"), env)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "prologue: job "+torqueJob) {
		t.Fatalf("malformed request through the binary: %+v", r)
	}
}

// BenchmarkPrologueOrdinaryJob is the cost an ordinary job pays inside the
// hook: parse argv, read the configuration, decide.
func BenchmarkPrologueOrdinaryJob(b *testing.B) {
	cfg := filepath.Join(b.TempDir(), "virtcloud.toml")
	os.WriteFile(cfg, []byte("[hooks]\nserver = \"http://127.0.0.1:1\"\ntoken = \"x\"\nqueues = [\"vcluster\"]\n"), 0o600)
	env := map[string]string{"VIRTCLOUD_CONFIG": cfg}
	args := torquePrologue("prologue", "nodes=1:ppn=1,walltime=00:10:00", "batch")
	e := Env{Args: args, Getenv: func(k string) string { return env[k] }, Stdout: io.Discard, Stderr: io.Discard, CacheDir: b.TempDir()}
	for b.Loop() {
		if code := runHook(Prologue, e); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

// BenchmarkPrologueOrdinaryJobBinary runs the built vc-prologue the way
// pbs_mom would, for an ordinary job, and an empty statically linked Go
// program alternately in the same loop: x-empty, the ratio of their times,
// is what the hook adds to the least any Go program costs to start (goal
// <= 1.3), whatever the machine's load.
func BenchmarkPrologueOrdinaryJobBinary(b *testing.B) {
	bin := filepath.Join("..", "bin", "vc-prologue")
	if _, err := os.Stat(bin); err != nil {
		bin = binary(b, "vc-prologue")
	}
	empty := emptyProgram(b)
	cfg := filepath.Join(b.TempDir(), "virtcloud.toml")
	os.WriteFile(cfg, []byte("[hooks]\nserver = \"http://127.0.0.1:1\"\ntoken = \"x\"\nqueues = [\"vcluster\"]\n"), 0o600)
	args := torquePrologue("prologue", "nodes=1:ppn=1,walltime=00:10:00", "batch")[1:]
	env := []string{"PATH=/bin:/usr/bin", "VIRTCLOUD_CONFIG=" + cfg}
	// Both programs are run alike: same arguments and environment, output
	// collected (it must be empty).
	run := func(bin string) time.Duration {
		t0 := time.Now()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			b.Fatalf("%s, ordinary job: %v: %q", bin, err, out)
		}
		return time.Since(t0)
	}
	// The first ordinary job after a change of the configuration is
	// vc-hook's; every later one the gate's alone, which is what is measured.
	b.Cleanup(func() { os.Remove(gate.CacheFile(gate.DefaultCacheDir, cfg)) })
	run(bin)
	if _, err := os.Stat(gate.CacheFile(gate.DefaultCacheDir, cfg)); err != nil {
		b.Fatalf("vc-hook left no decision for the gate: %v", err)
	}
	var hook, base time.Duration
	for b.Loop() {
		hook += run(bin)
		base += run(empty)
	}
	n := float64(b.N)
	b.ReportMetric(hook.Seconds()*1000/n, "ms/run")
	b.ReportMetric(base.Seconds()*1000/n, "ms/empty")
	b.ReportMetric(hook.Seconds()/base.Seconds(), "x-empty")
}

// emptyProgram builds `func main() {}` as the hooks are built: statically
// linked (CGO_ENABLED=0), -trimpath.
func emptyProgram(b *testing.B) string {
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module empty\n\ngo 1.21\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	cmd := exec.Command("go", "build", "-trimpath", "-o", "empty", ".")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build the empty program: %v\n%s", err, out)
	}
	return filepath.Join(dir, "empty")
}
