//go:build slurmtest

// The project's single-node Slurm scripts (tools/slurm) on a node whose
// slurmd cannot start, and the Slurm test's jobs from a checkout the job
// user cannot enter. scripts/phases/50-slurm.sh runs it after TestRealSlurm.

package hooks

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealSlurmStartFailure gives the real slurmd a fault sites meet when a
// node boots with no cgroup v1 hierarchy (a cgroup v2 only host, a
// container): cgroup.conf asks for the v1 plugin, whose mount point here is
// an empty directory, and ProctrackType=proctrack/cgroup needs it. slurmd
// exits at start; start-slurm.sh must fail with slurmd's reason in its
// error, leave no daemon of that run, and stop-slurm.sh must then be a
// harmless no-op. Once the fault is gone the same base starts, and a job
// submitted while the caller sits in a directory the job user cannot enter
// (a checkout under /root) runs: the Slurm test's helper submits from its
// output directory.
func TestRealSlurmStartFailure(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the Slurm start test starts slurmctld and slurmd: run it as root")
	}
	work, err := os.MkdirTemp("/var/tmp", "vc-slurm-startfail-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	os.Chmod(work, 0o755)
	base := filepath.Join(work, "slurm")
	unmounted := filepath.Join(work, "cgroup")
	os.Mkdir(unmounted, 0o755)
	restore := setCgroupConf(t, "CgroupPlugin=cgroup/v1\nCgroupMountpoint="+unmounted+"\nCgroupAutomount=no\n")
	t.Cleanup(func() {
		if out, err := slurmScript("stop-slurm.sh", base); err != nil {
			t.Logf("stop-slurm.sh: %v\n%s", err, out)
		}
	})

	out, err := slurmScript("start-slurm.sh", base, "SLURM_EXTRA_CONF=ProctrackType=proctrack/cgroup", "SLURM_READY_TIMEOUT=30")
	if err == nil {
		t.Fatalf("start-slurm.sh succeeded on a node without its cgroup hierarchy:\n%s", out)
	}
	// The error itself, before the logs it dumps, says why.
	msg, _, _ := strings.Cut(out, "--- tail ")
	if !strings.Contains(msg, "ERROR: slurmd") || !strings.Contains(msg, "cgroup namespace 'freezer' not mounted") {
		t.Errorf("start-slurm.sh (%v) does not say why slurmd failed:\n%s", err, out)
	}
	if left := daemonsOf(base); len(left) > 0 {
		t.Errorf("after the failed start, still running: %s\n%s", strings.Join(left, ", "), out)
	}
	if out, err := slurmScript("stop-slurm.sh", base); err != nil {
		t.Errorf("stop-slurm.sh after a failed start: %v\n%s", err, out)
	}
	if t.Failed() {
		return
	}

	restore()
	if out, err := slurmScript("start-slurm.sh", base); err != nil {
		t.Fatalf("start-slurm.sh once the fault is gone: %v\n%s", err, out)
	}
	t.Run("checkout-unreachable", func(t *testing.T) { submitFromUnreachableDir(t, work) })
	if out, err := slurmScript("stop-slurm.sh", base); err != nil {
		t.Errorf("stop-slurm.sh: %v\n%s", err, out)
	}
	if left := daemonsOf(base); len(left) > 0 {
		t.Errorf("after stop-slurm.sh, still running: %s", strings.Join(left, ", "))
	}
}

// submitFromUnreachableDir submits through the Slurm test's own helper
// while this process sits in a root-only directory, as `go test` does in a
// checkout under /root; the job must run and write its output.
func submitFromUnreachableDir(t *testing.T, work string) {
	private := filepath.Join(work, "root-only")
	os.Mkdir(private, 0o700)
	out := filepath.Join(work, "out")
	os.Mkdir(out, 0o755)
	os.Chmod(out, os.ModeSticky|0o777)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(private); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	s := &realSlurm{out: out}
	id := s.sbatch(t, "--wrap", "echo ran from $(pwd)")
	s.waitJob(t, id, 60*time.Second, "COMPLETED", "FAILED", "CANCELLED", "NODE_FAIL")
	b, _ := os.ReadFile(filepath.Join(out, "job-"+id+".out"))
	if st := s.job(t, id, "JobState"); st != "COMPLETED" || !strings.Contains(string(b), "ran from "+out) {
		t.Errorf("job %s submitted from a root-only directory: %s, output %q", id, st, b)
	}
}

// slurmScript runs tools/slurm/NAME for the cluster under base.
func slurmScript(name, base string, env ...string) (string, error) {
	cmd := exec.Command("../tools/slurm/" + name)
	cmd.Env = append(append(os.Environ(), "SLURM_BASE="+base, "SLURM_NO_INSTALL=1"), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// setCgroupConf writes Slurm's cgroup.conf (next to slurm.conf, where
// Slurm reads it) and returns the function that puts back what was there;
// it also runs at the test's end.
func setCgroupConf(t *testing.T, content string) func() {
	const path = "/etc/slurm/cgroup.conf"
	old, err := os.ReadFile(path)
	had := err == nil
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	done := false
	restore := func() {
		if done {
			return
		}
		done = true
		if had {
			os.WriteFile(path, old, 0o644)
		} else {
			os.Remove(path)
		}
	}
	t.Cleanup(restore)
	return restore
}

// daemonsOf lists the processes ("pid comm") holding a file under base
// open: the daemons of that cluster, which all log there.
func daemonsOf(base string) []string {
	var found []string
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		fds, _ := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name())); err == nil && strings.HasPrefix(l, base+"/") {
				comm, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "comm"))
				found = append(found, p.Name()+" "+strings.TrimSpace(string(comm)))
				break
			}
		}
	}
	return found
}
