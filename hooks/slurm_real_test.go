//go:build slurmtest

// The real-Slurm test: scripts/phases/50-slurm.sh runs it with
// `go test -tags slurmtest -run TestRealSlurm` as root, after scripts/deps.sh
// installed slurm-wlm, slurmctld, slurmd, munge, snmpsim and redis-server.
// Without the tag it is not compiled, so `go test ./...` never meets it.

package hooks

import (
	"context"
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

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/internal/snmpsim"
	"github.com/virtcloud/virtcloud/switchdrv"
	_ "github.com/virtcloud/virtcloud/switchdrv/snmp"
)

const (
	schedSecret = "scheduler-secret-0123456789"
	slurmPort   = "Ethernet1" // the node's trunk port on the recorded Arista
)

// realSlurm is one single-node Slurm with the hooks installed.
type realSlurm struct {
	node, work, cfg, out string
	srv                  *leaseServer
	sw                   switchdrv.Driver
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
	// Not t.TempDir: SlurmUser must reach the hooks and their config.
	s.work, err = os.MkdirTemp("/var/tmp", "vc-slurm-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(s.work) })
	os.Chmod(s.work, 0o755)
	s.out = filepath.Join(s.work, "out")
	os.MkdirAll(s.out, 0o755)
	os.Chmod(s.out, os.ModeSticky|0o777)

	ag := snmpsim.Start(t, snmpsim.Options{Recording: snmpsim.Arista})
	sw := ag.Switch("")
	if s.sw, err = switchdrv.Open(sw, switchdrv.Options{Name: "sw1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.sw.Close() })
	r := redistest.Start(t)
	port := redistest.FreePort(t)
	dead := redistest.FreePort(t) // nothing answers SNMP there
	srvCfg := fmt.Sprintf(`[server]
listen = "127.0.0.1:%d"
switch_timeout = "2s"
[lease]
min_ttl = "1s"
commit_timeout = "6s"
quarantine = "1s"
max_failed_starts = 5
[sites.brno]
vlans = ["200-209"]
[switches.sw1]
site = "brno"
driver = "snmp"
address = %q
version = "2c"
community = %q
[switches.dead]
site = "brno"
driver = "snmp"
address = "127.0.0.1:%d"
version = "2c"
community = "nobody"
timeout = "1s"
[services.dead]
site = "brno"
switch = "dead"
ports = ["Ethernet2"]
[hosts.skirit-1]
site = "brno"
aliases = [%q]
switch = "sw1"
ports = [%q]
[[tokens]]
name = "slurm"
secret = %q
role = "scheduler"
[[tokens]]
name = "admin"
secret = %q
role = "admin"
`, port, sw.Address, sw.Community, dead, s.node, slurmPort, schedSecret, adminSecret)
	s.srv = &leaseServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), redis: r.URL,
		cfg: filepath.Join(s.work, "server.toml"), Admin: client.New(fmt.Sprintf("http://127.0.0.1:%d", port), adminSecret)}
	os.WriteFile(s.srv.cfg, []byte(srvCfg), 0o600)
	s.srv.start(t)
	t.Cleanup(s.srv.stop)

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
	os.WriteFile(s.cfg, []byte(fmt.Sprintf("[hooks]\nserver = %q\ntoken = %q\nbudget = \"5s\"\nspool_dir = %q\nmax_failed_starts = 5\n",
		s.srv.URL, schedSecret, spoolDir)), 0o640)
	run(t, "chown", "root:slurm", s.cfg)
	for _, b := range []string{"vc-prologue", "vc-epilogue", "vc-periodic"} {
		data, err := os.ReadFile(binary(t, b))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(bin, b), data, 0o755)
	}
	for _, w := range []string{"prologue", "epilogue"} {
		os.WriteFile(filepath.Join(bin, w+".sh"), []byte(fmt.Sprintf("#!/bin/sh\nVIRTCLOUD_CONFIG=%s exec %s/vc-%s \"$@\"\n", s.cfg, bin, w)), 0o755)
	}
	base := filepath.Join(s.work, "slurm")
	start := exec.Command("../tools/slurm/start-slurm.sh")
	start.Env = append(os.Environ(), "SLURM_BASE="+base, "SLURM_NO_INSTALL=1",
		"SLURM_PROLOG="+bin+"/prologue.sh", "SLURM_EPILOG="+bin+"/epilogue.sh",
		"SLURM_PROLOG_SLURMCTLD="+bin+"/prologue.sh", "SLURM_EPILOG_SLURMCTLD="+bin+"/epilogue.sh",
		"SLURM_PARTITION_OPTS=OverSubscribe=FORCE:8")
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("start-slurm.sh: %v\n%s", err, out)
	}
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
			t.Logf("--- leasesrv\n%s", tail(s.srv.log.String(), 40))
		}
	})
	return s
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sbatch submits as the unprivileged user and returns the job id.
func (s *realSlurm) sbatch(t *testing.T, args ...string) string {
	t.Helper()
	a := append([]string{"-u", "slurmci", "--", "sbatch", "--parsable", "-o", s.out + "/job-%j.out"}, args...)
	return strings.TrimSpace(strings.Split(run(t, "runuser", a...), ";")[0])
}

func (s *realSlurm) job(t *testing.T, id, field string) string {
	out, _ := exec.Command("scontrol", "-o", "show", "job", id).Output()
	v, _ := jobField(string(out), field)
	return v
}

func (s *realSlurm) nodeState(t *testing.T) string {
	out, _ := exec.Command("sinfo", "-h", "-n", s.node, "-o", "%T").Output()
	return strings.TrimSpace(string(out))
}

// waitFor polls until ok or the deadline, which only bounds a failure.
func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (s *realSlurm) lease(id string) (*client.Lease, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Admin.Get(ctx, id)
}

func (s *realSlurm) waitLease(t *testing.T, id, state string, limit time.Duration) *client.Lease {
	t.Helper()
	var l *client.Lease
	waitFor(t, "lease of job "+id+" "+state, limit, func() bool {
		var err error
		l, err = s.lease(id)
		return err == nil && l.State == state
	})
	return l
}

func (s *realSlurm) waitJob(t *testing.T, id string, limit time.Duration, states ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("job %s in %v", id, states), limit, func() bool {
		return slices.Contains(states, s.job(t, id, "JobState"))
	})
}

// onSwitch reports whether the VLAN is tagged on the node's port.
func (s *realSlurm) onSwitch(t *testing.T, vid int) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, found, err := s.sw.VLAN(ctx, vid)
	if err != nil {
		t.Fatalf("read VLAN %d from the switch: %v", vid, err)
	}
	return found && slices.Contains(v.Tagged, slurmPort)
}

// active waits until a cluster job runs with its lease active and its VLAN
// on the switch.
func (s *realSlurm) active(t *testing.T, id string) *client.Lease {
	t.Helper()
	s.waitJob(t, id, 60*time.Second, "RUNNING", "COMPLETING", "COMPLETED")
	l := s.waitLease(t, id, api.StateActive, 30*time.Second)
	if !s.onSwitch(t, l.VLAN) {
		t.Fatalf("job %s: VLAN %d is not on %s", id, l.VLAN, slurmPort)
	}
	return l
}

func (s *realSlurm) released(t *testing.T, id string, l *client.Lease) {
	t.Helper()
	s.waitLease(t, id, api.StateReleased, 60*time.Second)
	if s.onSwitch(t, l.VLAN) {
		t.Fatalf("job %s: VLAN %d still on %s after the release", id, l.VLAN, slurmPort)
	}
}

func (s *realSlurm) normal(t *testing.T) {
	id := s.sbatch(t, "--comment=vcluster:name=normal", "--wrap", "sleep 3")
	l := s.active(t, id)
	if l.Attributes["name"] != "normal" {
		t.Errorf("attributes %v", l.Attributes)
	}
	s.waitJob(t, id, 60*time.Second, "COMPLETED")
	s.released(t, id, l)
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
	id := s.sbatch(t, "--comment=vcluster:services=dead", "--wrap", "echo ran")
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

func (s *realSlurm) periodic(t *testing.T) {
	cmd := exec.Command(filepath.Join(s.work, "bin", "vc-periodic"))
	cmd.Env = []string{"VIRTCLOUD_CONFIG=" + s.cfg, "PATH=/usr/bin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vc-periodic: %v\n%s", err, out)
	}
}
