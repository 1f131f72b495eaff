//go:build slurmtest

// The real-Slurm test: scripts/phases/50-slurm.sh runs it with
// `go test -tags slurmtest -run TestRealSlurm` as root, after scripts/deps.sh
// installed slurm-wlm, slurmctld, slurmd, munge, snmpsim and redis-server.
// Without the tag it is not compiled, so `go test ./...` never meets it.

package hooks

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/hooks/slurm"
	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	_ "github.com/virtcloud/virtcloud/switchdrv/snmp"
)

// realSlurm is one single-node Slurm with the hooks installed.
type realSlurm struct {
	*rig
	node, work, cfg, out string
	nodeCfg              string
}

// readmeSlurmConf checks that hooks/README.md's slurm.conf lines are the
// ones this test gives Slurm: each script the binary named there, and
// PrologFlags=Alloc (start-slurm.sh's default).
func readmeSlurmConf(t *testing.T) {
	want := map[string]string{"PrologSlurmctld": "vc-prologue", "EpilogSlurmctld": "vc-epilogue",
		"Prolog": "vc-prologue", "Epilog": "vc-epilogue", "TaskProlog": "vc-taskprolog", "PrologFlags": "Alloc"}
	got := map[string]string{}
	for _, b := range readmeBlocks(t, "### Slurm") {
		for _, l := range b {
			if k, v, ok := strings.Cut(l, "="); ok && !strings.Contains(k, " ") {
				got[k] = filepath.Base(v)
			}
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("hooks/README.md gives %s=%q; this test installs %s", k, got[k], v)
		}
	}
}

// A node whose configuration others may read drains itself with the
// reason, yet runs an ordinary job; resumed once the file is fixed.
func (s *realSlurm) brokenNodeConfig(t *testing.T) {
	os.Chmod(s.nodeCfg, 0o644)
	defer os.Chmod(s.nodeCfg, 0o600)
	id := s.sbatch(t, "--wrap", "echo ordinary on a broken node")
	s.waitJob(t, id, 60*time.Second, "COMPLETED")
	b, _ := os.ReadFile(filepath.Join(s.out, "job-"+id+".out"))
	mustContain(t, "ordinary job output", string(b), "ordinary on a broken node")
	out, _ := exec.Command("scontrol", "-o", "show", "node", s.node).Output()
	st, _ := slurm.JobField(string(out), "State")
	if !strings.Contains(st, "DRAIN") {
		t.Fatalf("node state %s after a broken configuration", st)
	}
	mustContain(t, "drain reason", string(out), "Reason=virtcloud:", "readable or writable by others")
	os.Chmod(s.nodeCfg, 0o600)
	run(t, "scontrol", "update", "NodeName="+s.node, "State=RESUME")
	waitFor(t, "node "+s.node+" back", 30*time.Second, func() bool { return s.nodeState(t) == "idle" })
}

func TestRealSlurm(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the Slurm test starts slurmctld and slurmd: run it as root")
	}
	s := setupSlurm(t)
	t.Run("cases", func(t *testing.T) {
		t.Run("time-limit", func(t *testing.T) { t.Parallel(); s.timeLimit(t) })
		t.Run("others", func(t *testing.T) {
			t.Parallel()
			t.Run("group", func(t *testing.T) {
				for name, f := range map[string]func(*testing.T){"normal": s.normal, "scancel": s.scancel,
					"ordinary": s.ordinary, "malformed": s.malformed, "switch-unreachable": s.switchUnreachable} {
					t.Run(name, func(t *testing.T) { t.Parallel(); f(t) })
				}
			})
			// Stops the lease server: runs alone among the quick cases.
			t.Run("server-down-at-epilogue", s.serverDownAtEpilogue)
		})
	})
	if !t.Failed() {
		t.Run("broken-node-config", s.brokenNodeConfig)
	}
	if !t.Failed() {
		if st := s.nodeState(t); strings.Contains(st, "drain") || strings.Contains(st, "down") {
			t.Errorf("node ended %s", st)
		}
	}
}

func setupSlurm(t *testing.T) *realSlurm {
	node, err := exec.Command("hostname", "-s").Output()
	if err != nil {
		t.Fatal(err)
	}
	s := &realSlurm{node: strings.TrimSpace(string(node))}
	s.rig = newRig(t, "vc-slurm-test-", "scheduler", []rigHost{{name: "skirit-1", aliases: []string{s.node}, port: "Ethernet1"}})
	s.work, s.out = s.rig.work, s.rig.outDir()

	// The hooks: one config for PrologSlurmctld (as slurm) and Prolog (as
	// root), group-readable for slurm; wrappers name it, since Slurm passes
	// no environment of ours.
	bin := filepath.Join(s.work, "bin")
	os.MkdirAll(bin, 0o755)
	spoolDir := filepath.Join(s.work, "spool")
	os.MkdirAll(spoolDir, 0o711)
	os.MkdirAll(filepath.Join(spoolDir, "controller"), 0o700)
	run(t, "chown", "slurm:slurm", filepath.Join(spoolDir, "controller"))
	s.cfg = filepath.Join(s.work, "virtcloud.toml")
	os.WriteFile(s.cfg, []byte(s.hooksConfig(spoolDir)), 0o640)
	run(t, "chown", "root:slurm", s.cfg)
	// The node's own copy, root's only (Prolog and Epilog run as root), as
	// on a compute node that is not the controller.
	s.nodeCfg = filepath.Join(s.work, "node.toml")
	os.WriteFile(s.nodeCfg, []byte(s.hooksConfig(spoolDir)), 0o600)
	for _, b := range []string{"vc-prologue", "vc-epilogue", "vc-hook", "vc-periodic"} {
		data, err := os.ReadFile(binary(t, b))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(bin, b), data, 0o755)
	}
	for _, w := range []string{"prologue", "epilogue"} {
		os.WriteFile(filepath.Join(bin, w+".sh"), []byte(fmt.Sprintf("#!/bin/sh\nVIRTCLOUD_CONFIG=%s exec %s/vc-%s \"$@\"\n", s.cfg, bin, w)), 0o755)
		os.WriteFile(filepath.Join(bin, "node-"+w+".sh"), []byte(fmt.Sprintf("#!/bin/sh\nVIRTCLOUD_CONFIG=%s exec %s/vc-%s \"$@\"\n", s.nodeCfg, bin, w)), 0o755)
	}
	readmeSlurmConf(t)
	// TaskProlog as README installs it, its SPOOL= line naming the spool.
	for _, b := range readmeBlocks(t, "### Slurm") {
		for _, l := range b {
			if strings.HasPrefix(l, "install ") {
				shell(t, relocate(l, map[string]string{"/usr/local/sbin": bin}))
			}
		}
	}
	taskProlog := filepath.Join(bin, "vc-taskprolog")
	script, err := os.ReadFile(taskProlog)
	if err != nil {
		t.Fatalf("README's lines did not install vc-taskprolog: %v", err)
	}
	const spoolLine = "\nSPOOL=/var/spool/virtcloud\n"
	if !strings.Contains(string(script), spoolLine) {
		t.Fatalf("vc-taskprolog has no line %q", strings.TrimSpace(spoolLine))
	}
	os.WriteFile(taskProlog, []byte(strings.Replace(string(script), spoolLine, "\nSPOOL="+spoolDir+"\n", 1)), 0o755)
	base := filepath.Join(s.work, "slurm")
	start := exec.Command("../tools/slurm/start-slurm.sh")
	start.Env = append(os.Environ(), "SLURM_BASE="+base, "SLURM_NO_INSTALL=1",
		"SLURM_PROLOG="+bin+"/node-prologue.sh", "SLURM_EPILOG="+bin+"/node-epilogue.sh",
		"SLURM_PROLOG_SLURMCTLD="+bin+"/prologue.sh", "SLURM_EPILOG_SLURMCTLD="+bin+"/epilogue.sh",
		"SLURM_PARTITION_OPTS=OverSubscribe=FORCE:8", "SLURM_EXTRA_CONF=TaskProlog="+taskProlog)
	t.Cleanup(func() {
		stop := exec.Command("../tools/slurm/stop-slurm.sh")
		stop.Env = append(os.Environ(), "SLURM_BASE="+base)
		if out, err := stop.CombinedOutput(); err != nil {
			t.Logf("stop-slurm.sh: %v\n%s", err, out)
		}
		if t.Failed() {
			for _, l := range []string{"slurmctld.log", "slurmd.log"} {
				b, _ := os.ReadFile(filepath.Join(base, "log", l))
				t.Logf("--- %s (tail)\n%s", l, tail(string(b), 40))
			}
		}
	})
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("start-slurm.sh: %v\n%s", err, out)
	}
	return s
}

// sbatch submits as the unprivileged user and returns the job id. It runs
// in the output directory, which the job user can enter wherever the
// checkout is (the job starts where it was submitted).
func (s *realSlurm) sbatch(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "slurmci", "--", "sbatch", "--parsable", "-o", s.out + "/job-%j.out"}, args...)...)
	cmd.Dir = s.out
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sbatch %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(strings.Split(string(out), ";")[0])
}

func (s *realSlurm) job(t *testing.T, id, field string) string {
	out, _ := exec.Command("scontrol", "-o", "show", "job", id).Output()
	v, _ := slurm.JobField(string(out), field)
	return v
}

func (s *realSlurm) nodeState(t *testing.T) string {
	out, _ := exec.Command("sinfo", "-h", "-n", s.node, "-o", "%T").Output()
	return strings.TrimSpace(string(out))
}

func (s *realSlurm) waitJob(t *testing.T, id string, limit time.Duration, states ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("job %s in %v", id, states), limit, func() bool {
		return slices.Contains(states, s.job(t, id, "JobState"))
	})
}

// active waits until a cluster job runs with its lease active and its VLAN
// on the switch.
func (s *realSlurm) active(t *testing.T, id string) *client.Lease {
	t.Helper()
	s.waitJob(t, id, 60*time.Second, "RUNNING", "COMPLETING", "COMPLETED")
	return s.activeOn(t, id, "skirit-1")
}

// normal: the lease lives as long as the job, which finds its network in
// its environment (TaskProlog).
func (s *realSlurm) normal(t *testing.T) {
	id := s.sbatch(t, "--comment=vcluster:name=normal", "--wrap", "echo VLAN=$VIRTCLOUD_VLAN BRIDGE=$VIRTCLOUD_BRIDGE LEASE=$VIRTCLOUD_LEASE; sleep 3")
	l := s.active(t, id)
	if l.Attributes["name"] != "normal" {
		t.Errorf("attributes %v", l.Attributes)
	}
	s.waitJob(t, id, 60*time.Second, "COMPLETED")
	s.released(t, id, l)
	b, _ := os.ReadFile(filepath.Join(s.out, "job-"+id+".out"))
	mustContain(t, "job output", string(b), fmt.Sprintf("VLAN=%d BRIDGE= LEASE=%s", l.VLAN, id))
}

func (s *realSlurm) scancel(t *testing.T) {
	id := s.sbatch(t, "--comment=vcluster", "--wrap", "sleep 300")
	l := s.active(t, id)
	run(t, "scancel", id)
	s.waitJob(t, id, 60*time.Second, "CANCELLED")
	s.released(t, id, l)
}

func (s *realSlurm) timeLimit(t *testing.T) {
	id := s.sbatch(t, "--comment=vcluster", "--time=1", "--wrap", "sleep 300")
	l := s.active(t, id)
	s.waitJob(t, id, 150*time.Second, "TIMEOUT")
	if l := s.waitAnyLease(t, id); l.State != api.StateReleased {
		// The server-down case may have held the release back: it is
		// queued, and vc-periodic delivers it.
		s.periodic(t)
	}
	s.released(t, id, l)
}

func (s *realSlurm) waitAnyLease(t *testing.T, id string) *client.Lease {
	var l *client.Lease
	waitFor(t, "lease of job "+id+" to settle", 30*time.Second, func() bool {
		var err error
		l, err = s.lease(id)
		return err == nil && l.State != api.StateActive && l.State != api.StateReleasing || client.Unreachable(err)
	})
	if l == nil {
		l = &client.Lease{}
	}
	return l
}

func (s *realSlurm) ordinary(t *testing.T) {
	id := s.sbatch(t, "--comment=just a note", "--wrap", "echo hello from an ordinary job")
	s.waitJob(t, id, 60*time.Second, "COMPLETED")
	if _, err := s.lease(id); client.Code(err) != api.CodeNotFound {
		t.Fatalf("ordinary job %s has a lease or the server failed: %v", id, err)
	}
	b, _ := os.ReadFile(filepath.Join(s.out, "job-"+id+".out"))
	if strings.TrimSpace(string(b)) != "hello from an ordinary job" {
		t.Fatalf("ordinary job output %q", b)
	}
}

func (s *realSlurm) malformed(t *testing.T) {
	id := s.sbatch(t, "--comment=vcluster:publish=sideways", "--wrap", "echo must not run")
	s.waitJob(t, id, 60*time.Second, "CANCELLED")
	b, _ := os.ReadFile(filepath.Join(s.out, "job-"+id+".out"))
	mustContain(t, "job output", string(b), "virtcloud: job "+id+" cancelled", `publish "sideways": must be none, tunnel or direct`)
	if strings.Contains(string(b), "must not run") {
		t.Fatal("the job ran")
	}
}

// A switch that does not answer: PrologSlurmctld fails after its budget,
// Slurm requeues the job, and the node stays up.
func (s *realSlurm) switchUnreachable(t *testing.T) {
	s.flaky.drop.Store(true)
	defer s.flaky.drop.Store(false)
	id := s.sbatch(t, "--comment=vcluster:services=flaky", "--wrap", "echo ran")
	waitFor(t, "job "+id+" requeued", 90*time.Second, func() bool {
		n, _ := strconv.Atoi(s.job(t, id, "Restarts"))
		return n >= 1
	})
	if st := s.nodeState(t); strings.Contains(st, "drain") || strings.Contains(st, "down") {
		t.Fatalf("node is %s after a switch fault", st)
	}
	l, err := s.lease(id)
	if err != nil || l.FailedStarts < 1 {
		t.Fatalf("lease of the requeued job: %+v %v", l, err)
	}
	if st := s.job(t, id, "JobState"); st == "RUNNING" || st == "COMPLETED" {
		t.Fatalf("job ran without its network: %s", st)
	}
	exec.Command("scancel", id).Run()
	s.waitJob(t, id, 60*time.Second, "CANCELLED")
}

// The lease server is down when the job ends: the epilogues exit 0 (the
// node stays up), the release waits in the spool, and vc-periodic delivers
// it once the server is back.
func (s *realSlurm) serverDownAtEpilogue(t *testing.T) {
	id := s.sbatch(t, "--comment=vcluster", "--wrap", "sleep 300")
	l := s.active(t, id)
	s.srv.stop()
	run(t, "scancel", id)
	s.waitJob(t, id, 60*time.Second, "CANCELLED")
	queued := filepath.Join(s.work, "spool", "controller", "release", id+".json")
	waitFor(t, "queued release "+queued, 60*time.Second, func() bool {
		_, err := os.Stat(queued)
		return err == nil
	})
	if st := s.nodeState(t); strings.Contains(st, "drain") || strings.Contains(st, "down") {
		t.Fatalf("node is %s after an epilogue without the lease server", st)
	}
	s.srv.start(t)
	if l, err := s.lease(id); err != nil || l.State != api.StateActive {
		t.Fatalf("lease before vc-periodic: %+v %v", l, err)
	}
	s.periodic(t)
	s.released(t, id, l)
	if _, err := os.Stat(queued); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("queued release still there: %v", err)
	}
}

func (s *realSlurm) periodic(t *testing.T) { periodic(t, filepath.Join(s.work, "bin"), s.cfg) }
