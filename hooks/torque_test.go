package hooks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/hooks/spool"
	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

const torqueJob = "41.torque-srv.example.org"

// Arguments as pbs_mom passes them (Torque 6.1, recorded on a two-node job).
func torquePrologue(name, resources, queue string) []string {
	return []string{"/var/spool/torque/mom_priv/" + name, torqueJob, "alice", "users", "vc.sh",
		resources, queue, "", "/var/spool/torque/mom_priv/jobs/" + torqueJob + ".SC"}
}

func torqueEpilogue(name, resources, queue, exit string) []string {
	return []string{"/var/spool/torque/mom_priv/" + name, torqueJob, "alice", "users", "vc.sh", "12345",
		resources, "cput=00:00:00,vmem=11640kb,walltime=00:00:32,mem=7772kb,energy_used=0", queue, "", exit,
		"/var/spool/torque/mom_priv/jobs/" + torqueJob + ".SC"}
}

const clusterRes = "nodes=2:ppn=1,walltime=00:00:30,neednodes=2:ppn=1,other=vcluster:image=deb12:name=mpi"

func torqueEnv(nodenum, nodefile string) map[string]string {
	e := map[string]string{"LANG": "C", "PBS_MSHOST": "nodeA", "PBS_NODENUM": nodenum, "PBS_NP": "2",
		"PBS_NUM_NODES": "2", "PBS_NUM_PPN": "1", "PBS_O_WORKDIR": "/home/alice", "PBS_RESOURCE_NODES": "2:ppn=1"}
	if nodefile != "" {
		e["PBS_NODEFILE"] = nodefile
	}
	return e
}

// fakeQstat answers `qstat -f JOB` the way Torque does, wrapped lines and all.
const fakeQstat = `[ "$1" = -f ] || exit 2
cat <<EOT
Job Id: $2
    Job_Name = vc.sh
    job_state = R
    queue = batch
    Resource_List.walltime = 01:00:00
    exec_host = nodeA/0+nodeb.exa
	mple.org/0
EOT
`

// A two-node job: the sister's prologue.parallel runs before the first
// node's prologue, creates the lease from qstat's exec_host and builds its
// bridge; the first node finds the same lease.
func TestTorqueTwoNodeJobSisterFirst(t *testing.T) {
	srv := startLeaseServer(t)
	first := newNode(t, "nodeA", nodeOpts{server: srv.URL, dom0: true})
	sister := newNode(t, "nodeB", nodeOpts{server: srv.URL, dom0: true})
	sister.tool(t, "qstat", fakeQstat)
	nodefile := filepath.Join(t.TempDir(), torqueJob)
	os.WriteFile(nodefile, []byte("nodeA\nnodeb.example.org\n"), 0o644)

	r := sister.run(Prologue, torquePrologue("prologue.parallel", clusterRes, "batch"), torqueEnv("1", ""))
	if r.code != 0 {
		t.Fatalf("sister prologue.parallel: %+v", r)
	}
	l := srv.lease(t, torqueJob)
	if l.State != api.StateActive || len(l.Hosts) != 2 || l.Attributes["name"] != "mpi" || l.Attributes["image"] != "deb12" {
		t.Fatalf("lease after the sister: %+v", l)
	}
	mustContain(t, "sister stdout", r.stdout, "virtcloud: job "+torqueJob+" cluster VLAN", "on bridge br")
	if !sister.host.has(torqueJob) {
		t.Fatal("sister built no bridge")
	}
	// TTL = walltime 30 s + grace 5 m.
	if ttl := l.ExpiresAt.Sub(l.CreatedAt).Seconds(); ttl < 329 || ttl > 331 {
		t.Errorf("lease TTL %.0fs, want 330s", ttl)
	}

	r = first.run(Prologue, torquePrologue("prologue", clusterRes, "batch"), torqueEnv("0", nodefile))
	if r.code != 0 {
		t.Fatalf("first node prologue: %+v", r)
	}
	if l2 := srv.lease(t, torqueJob); l2.Token != l.Token || l2.VLAN != l.VLAN {
		t.Fatalf("first node got another lease: %+v vs %+v", l2, l)
	}
	rec, found, _ := spool.Dir{Path: first.spool}.GetJob(torqueJob)
	if !found || !rec.Owner || rec.Token != l.Token {
		t.Fatalf("first node spool record: %+v %v", rec, found)
	}

	// The sister's epilogue.parallel only cleans up locally.
	r = sister.run(Epilogue, torqueEpilogue("epilogue.parallel", clusterRes, "batch", "0"), torqueEnv("1", ""))
	if r.code != 0 || sister.host.has(torqueJob) {
		t.Fatalf("sister epilogue: %+v, bridge left %v", r, sister.host.has(torqueJob))
	}
	if l := srv.lease(t, torqueJob); l.State != api.StateActive {
		t.Fatalf("sister epilogue ended the lease: %s", l.State)
	}
	// The first node's epilogue after a walltime kill (exit -11) releases.
	for range 2 {
		r = first.run(Epilogue, torqueEpilogue("epilogue", clusterRes, "batch", "-11"), torqueEnv("0", nodefile))
		if r.code != 0 {
			t.Fatalf("first epilogue: %+v", r)
		}
	}
	if l := srv.lease(t, torqueJob); l.State != api.StateReleased {
		t.Fatalf("lease after the first node's epilogue: %s", l.State)
	}
	if first.host.has(torqueJob) {
		t.Fatal("first node kept its bridge")
	}
}

// Ordinary jobs exit 0 without a server (none listens) and without output.
func TestTorqueOrdinaryJob(t *testing.T) {
	n := newNode(t, "nodeA", nodeOpts{})
	for _, tc := range []struct {
		p    Program
		args []string
	}{
		{Prologue, torquePrologue("prologue", "nodes=1:ppn=1,walltime=00:10:00", "batch")},
		{Prologue, torquePrologue("prologue", "nodes=1,other=scratch_local", "batch")[:8]},
		{Prologue, torquePrologue("prologue.parallel", "nodes=2", "batch")},
		{Epilogue, torqueEpilogue("epilogue", "nodes=1", "batch", "0")},
		{Epilogue, torqueEpilogue("epilogue", "nodes=1", "batch", "0")[:11]},
	} {
		r := n.run(tc.p, tc.args, torqueEnv("0", ""))
		if r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Errorf("%s %q: %+v", tc.p, tc.args[1:], r)
		}
	}
	if _, err := os.Stat(n.spool); !os.IsNotExist(err) {
		t.Errorf("an ordinary job touched the spool: %v", err)
	}
}

// A malformed request aborts the job (exit 1) with the reason in its
// output; a sister stays up (exit 0) and leaves the decision to the first node.
func TestTorqueMalformedRequest(t *testing.T) {
	n := newNode(t, "nodeA", nodeOpts{})
	res := "nodes=1,walltime=00:10:00,other=vcluster:publish=public"
	r := n.run(Prologue, torquePrologue("prologue", res, "batch"), torqueEnv("0", ""))
	if r.code != 1 {
		t.Fatalf("exit %d, want 1: %+v", r.code, r)
	}
	mustContain(t, "stderr", r.stderr, "prologue: job "+torqueJob, `publish "public": must be none, tunnel or direct`)
	r = n.run(Prologue, torquePrologue("prologue.parallel", res, "batch"), torqueEnv("1", ""))
	if r.code != 0 {
		t.Fatalf("sister exit %d, want 0", r.code)
	}
	r = n.run(Prologue, torquePrologue("prologue", "walltime=1:x,other=vcluster", "batch"), torqueEnv("0", ""))
	if r.code != 1 || !strings.Contains(r.stderr, "walltime") {
		t.Fatalf("bad walltime: %+v", r)
	}
	r = n.run(Prologue, []string{"prologue", torqueJob, "alice"}, torqueEnv("0", ""))
	if r.code != 1 || !strings.Contains(r.stderr, "got 2 arguments, want 7 or 8") {
		t.Fatalf("short argv: %+v", r)
	}
}

// With the lease server down the prologue requeues (exit 2) until the job
// has failed max_failed_starts times, then aborts it (exit 1): never
// Torque's endless immediate requeue.
func TestTorqueServerDownRequeuesThenAborts(t *testing.T) {
	n := newNode(t, "nodeA", nodeOpts{budget: "1s"})
	nodefile := filepath.Join(t.TempDir(), "nodes")
	os.WriteFile(nodefile, []byte("nodeA\n"), 0o644)
	args := torquePrologue("prologue", "nodes=1,walltime=00:10:00", "vcluster")
	for i, want := range []int{2, 2, 1, 1} {
		r := n.run(Prologue, args, torqueEnv("0", nodefile))
		if r.code != want {
			t.Fatalf("attempt %d: exit %d, want %d: %s", i+1, r.code, want, r.stderr)
		}
		if want == 1 {
			mustContain(t, "stderr", r.stderr, "failed", "max_failed_starts")
		}
	}
}

// A bridge that cannot be built is this host's fault: the first node marks
// itself offline with pbsnodes and the job is requeued elsewhere.
func TestTorqueHostFaultMarksNode(t *testing.T) {
	srv := startLeaseServer(t)
	n := newNode(t, "nodeA", nodeOpts{server: srv.URL, dom0: true})
	n.host.fail = os.ErrPermission
	mark := filepath.Join(t.TempDir(), "pbsnodes.args")
	n.tool(t, "pbsnodes", `echo "$@" > `+mark+"\n")
	nodefile := filepath.Join(t.TempDir(), "nodes")
	os.WriteFile(nodefile, []byte("nodeA\n"), 0o644)
	r := n.run(Prologue, torquePrologue("prologue", "nodes=1,other=vcluster", "batch"), torqueEnv("0", nodefile))
	if r.code != 2 {
		t.Fatalf("exit %d, want 2: %+v", r.code, r)
	}
	b, _ := os.ReadFile(mark)
	mustContain(t, "pbsnodes args", string(b), "-o -N virtcloud: job "+torqueJob, "nodeA")
}

// The presetup prologue (9th argument: every host) only creates the lease,
// early and quietly; its status is ignored anyway.
func TestTorquePresetup(t *testing.T) {
	srv := startLeaseServer(t)
	n := newNode(t, "nodeA", nodeOpts{server: srv.URL})
	args := append(torquePrologue("presetup.sh", clusterRes, "batch"), "nodeA+nodeB")
	if r := n.run(Prologue, args, torqueEnv("0", "")); r.code != 0 || r.stdout != "" {
		t.Fatalf("presetup: %+v", r)
	}
	if l := srv.lease(t, torqueJob); l.State != api.StateHeld || len(l.Hosts) != 2 {
		t.Fatalf("lease after presetup: %+v", l)
	}
	down := newNode(t, "nodeA", nodeOpts{budget: "1s"})
	if r := down.run(Prologue, args, torqueEnv("0", "")); r.code != 0 {
		t.Fatalf("presetup with the server down: %+v", r)
	}
}

// When the server is down at the epilogue, the epilogue still cleans up,
// exits 0 and queues the release; vc-periodic delivers it later.
func TestEpilogueServerDownThenPeriodic(t *testing.T) {
	srv := startLeaseServer(t)
	n := newNode(t, "nodeA", nodeOpts{server: srv.URL, dom0: true, budget: "2s"})
	nodefile := filepath.Join(t.TempDir(), "nodes")
	os.WriteFile(nodefile, []byte("nodeA\n"), 0o644)
	if r := n.run(Prologue, torquePrologue("prologue", "nodes=1,walltime=1:00:00", "vcluster"), torqueEnv("0", nodefile)); r.code != 0 {
		t.Fatalf("prologue: %+v", r)
	}
	srv.stop()
	r := n.run(Epilogue, torqueEpilogue("epilogue", "nodes=1,walltime=1:00:00", "vcluster", "271"), torqueEnv("0", nodefile))
	if r.code != 0 || n.host.has(torqueJob) {
		t.Fatalf("epilogue with the server down: %+v, bridge left %v", r, n.host.has(torqueJob))
	}
	mustContain(t, "stderr", r.stderr, "release queued")
	if rs, _ := (spool.Dir{Path: n.spool}).Releases(); len(rs) != 1 {
		t.Fatalf("queued releases: %v", rs)
	}
	if r := n.run(Periodic, []string{"vc-periodic"}, nil); r.code != 1 {
		t.Fatalf("periodic with the server still down: %+v", r)
	}
	srv.start(t)
	if l := srv.lease(t, torqueJob); l.State != api.StateActive {
		t.Fatalf("lease before periodic: %s", l.State)
	}
	if r := n.run(Periodic, []string{"vc-periodic"}, nil); r.code != 0 {
		t.Fatalf("periodic: %+v", r)
	}
	if l := srv.lease(t, torqueJob); l.State != api.StateReleased {
		t.Fatalf("lease after periodic: %s", l.State)
	}
	if rs, _ := (spool.Dir{Path: n.spool}).Releases(); len(rs) != 0 {
		t.Fatalf("releases left: %v", rs)
	}
}

// vc-periodic renews a running job's lease with its current walltime (qalter
// raised it to 2 h) and removes host leftovers of a lease that ended.
func TestPeriodicRenewAndGC(t *testing.T) {
	srv := startLeaseServer(t)
	n := newNode(t, "nodeA", nodeOpts{server: srv.URL, dom0: true})
	n.tool(t, "qstat", strings.Replace(fakeQstat, "01:00:00", "02:00:00", 1))
	nodefile := filepath.Join(t.TempDir(), "nodes")
	os.WriteFile(nodefile, []byte("nodeA\n"), 0o644)
	if r := n.run(Prologue, torquePrologue("prologue", "nodes=1,walltime=00:10:00", "vcluster"), torqueEnv("0", nodefile)); r.code != 0 {
		t.Fatalf("prologue: %+v", r)
	}
	before := srv.lease(t, torqueJob)
	// A leftover: a job file whose lease was force-released meanwhile.
	n.host.jobs["7.torque-srv"] = hostjob.Job{Job: "7.torque-srv", VLAN: 109, Token: 99}
	if r := n.run(Periodic, []string{"vc-periodic"}, nil); r.code != 0 {
		t.Fatalf("periodic: %+v", r)
	}
	after := srv.lease(t, torqueJob)
	if got := after.ExpiresAt.Sub(before.ExpiresAt).Minutes(); got < 105 || got > 115 {
		t.Errorf("renew moved expiry by %.1f min, want about 110 (2h05m from now instead of 15m)", got)
	}
	if n.host.has("7.torque-srv") || !n.host.has(torqueJob) {
		t.Fatalf("gc: leftovers %v", n.host.jobs)
	}
	// Once the lease is gone, gc removes this job's bridge too.
	if _, err := srv.Admin.ForceRelease(context.Background(), torqueJob); err != nil {
		t.Fatal(err)
	}
	if r := n.run(Periodic, []string{"vc-periodic"}, nil); r.code != 0 || n.host.has(torqueJob) {
		t.Fatalf("periodic after force release: %+v, bridge left %v", r, n.host.has(torqueJob))
	}
}

// A configuration others may read is refused with a message saying so.
func TestConfigReadableByOthers(t *testing.T) {
	n := newNode(t, "nodeA", nodeOpts{mode: 0o644})
	r := n.run(Prologue, torquePrologue("prologue", "nodes=1,other=vcluster", "batch"), torqueEnv("0", ""))
	if r.code == 0 {
		t.Fatalf("ran with a world-readable config: %+v", r)
	}
	mustContain(t, "stderr", r.stderr, "must not be readable or writable by others", "chmod o-rwx")
	os.Chmod(n.cfg, 0o640)
	r = n.run(Prologue, torquePrologue("prologue", "nodes=1", "batch"), torqueEnv("0", ""))
	if r.code != 0 {
		t.Fatalf("group-readable config refused: %+v", r)
	}
	// A node without any configuration runs ordinary jobs, and refuses
	// cluster jobs with the reason.
	os.Remove(n.cfg)
	if r := n.run(Prologue, torquePrologue("prologue", "nodes=1", "vcluster"), torqueEnv("0", "")); r.code != 0 {
		t.Fatalf("no config, ordinary job: %+v", r)
	}
	r = n.run(Prologue, torquePrologue("prologue", "nodes=1,other=vcluster", "batch"), torqueEnv("0", ""))
	if r.code == 0 || !strings.Contains(r.stderr, "no such file") {
		t.Fatalf("no config, cluster job: %+v", r)
	}
}

// A job whose epilogue never came (the node rebooted): once qstat no longer
// knows it, vc-periodic releases its lease instead of renewing it forever.
func TestPeriodicReleasesEndedJob(t *testing.T) {
	srv := startLeaseServer(t)
	n := newNode(t, "nodeA", nodeOpts{server: srv.URL})
	nodefile := filepath.Join(t.TempDir(), "nodes")
	os.WriteFile(nodefile, []byte("nodeA\n"), 0o644)
	if r := n.run(Prologue, torquePrologue("prologue", "nodes=1,walltime=00:10:00", "vcluster"), torqueEnv("0", nodefile)); r.code != 0 {
		t.Fatalf("prologue: %+v", r)
	}
	n.tool(t, "qstat", fakeQstat)
	if r := n.run(Periodic, []string{"vc-periodic"}, nil); r.code != 0 || srv.lease(t, torqueJob).State != api.StateActive {
		t.Fatalf("periodic while the job runs: %+v", r)
	}
	n.tool(t, "qstat", `echo "qstat: Unknown Job Id $2" >&2; exit 153`+"\n")
	if r := n.run(Periodic, []string{"vc-periodic"}, nil); r.code != 0 {
		t.Fatalf("periodic after the job vanished: %+v", r)
	}
	if l := srv.lease(t, torqueJob); l.State != api.StateReleased {
		t.Fatalf("lease of a vanished job: %s", l.State)
	}
	if js, _ := (spool.Dir{Path: n.spool}).Jobs(); len(js) != 0 {
		t.Fatalf("spool keeps %v", js)
	}
}
