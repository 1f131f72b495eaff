package hooks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/hooks/spool"
	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

// Environments as Slurm 22.05 hands them to each script (no PATH, no argv).
func slurmEnv(ctx, comment, partition string) map[string]string {
	e := map[string]string{"SLURM_SCRIPT_CONTEXT": ctx, "SLURM_JOB_ID": "17", "SLURM_JOBID": "17",
		"SLURM_JOB_UID": "1000", "SLURM_JOB_GID": "1000", "SLURM_JOB_USER": "slurmci",
		"SLURM_JOB_PARTITION": partition, "SLURM_CLUSTER_NAME": "ci", "SLURM_JOB_NUM_NODES": "2",
		"SLURM_CONF": "/etc/slurm/slurm.conf", "SLURM_JOB_RESTART_COUNT": "0"}
	if comment != "" {
		e["SLURM_JOB_COMMENT"] = comment
	}
	if strings.HasSuffix(ctx, "slurmctld") {
		e["SLURM_JOB_NODELIST"] = "node[A-B]"
		e["SLURM_JOB_NODELIST"] = "nodeA,nodeb.example.org"
		e["SLURM_JOB_NAME"] = "vc.sh"
		e["SLURM_JOB_GROUP"] = "slurmci"
	} else {
		e["SLURM_NODELIST"] = "nodeA,nodeb.example.org"
		e["SLURMD_NODENAME"] = "nodeA"
	}
	if strings.HasPrefix(ctx, "epilog") {
		e["SLURM_JOB_EXIT_CODE"] = "0"
		e["SLURM_JOB_DERIVED_EC"] = "0"
	}
	return e
}

const fakeScontrol = `[ "$1 $2 $3" = "-o show job" ] || exit 2
echo "JobId=$4 JobName=vc.sh UserId=slurmci(1000) JobState=RUNNING Reason=None TimeLimit=00:01:00 Partition=debug StdErr=$OUTDIR/slurm-$4.out StdOut=$OUTDIR/slurm-$4.out"
`

func slurmNode(t *testing.T, name, server string, dom0 bool) (*node, string) {
	n := newNode(t, name, nodeOpts{server: server, dom0: dom0, budget: "2s"})
	out := t.TempDir()
	os.Chmod(out, os.ModeSticky|0o777) // like /tmp: anybody may create files there
	n.tool(t, "scontrol", "OUTDIR="+out+"\n"+fakeScontrol)
	n.tool(t, "scancel", `echo "$@" >> `+filepath.Join(out, "scancel")+"\n")
	return n, out
}

// The controller creates and commits the lease for the expanded node list;
// Prolog builds the node's bridge from the same lease; Epilog cleans up
// locally; EpilogSlurmctld releases.
func TestSlurmLifecycle(t *testing.T) {
	srv := startLeaseServer(t)
	ctl, _ := slurmNode(t, "ctl", srv.URL, false)
	nd, _ := slurmNode(t, "nodeA", srv.URL, true)
	if r := ctl.run(Prologue, []string{"vc-prologue"}, slurmEnv("prolog_slurmctld", "vcluster:image=deb12", "debug")); r.code != 0 {
		t.Fatalf("PrologSlurmctld: %+v", r)
	}
	l := srv.lease(t, "17")
	if l.State != api.StateActive || len(l.Hosts) != 2 || l.Attributes["image"] != "deb12" {
		t.Fatalf("lease: %+v", l)
	}
	if ttl := l.ExpiresAt.Sub(l.CreatedAt).Seconds(); ttl < 359 || ttl > 361 {
		t.Errorf("TTL %.0fs, want 360 (TimeLimit 1 min + grace 5 min)", ttl)
	}
	if r := nd.run(Prologue, []string{"vc-prologue"}, slurmEnv("prolog_slurmd", "vcluster:image=deb12", "debug")); r.code != 0 || !nd.host.has("17") {
		t.Fatalf("Prolog: %+v", r)
	}
	if r := nd.run(Epilogue, []string{"vc-epilogue"}, slurmEnv("epilog_slurmd", "vcluster:image=deb12", "debug")); r.code != 0 || nd.host.has("17") {
		t.Fatalf("Epilog: %+v", r)
	}
	if l := srv.lease(t, "17"); l.State != api.StateActive {
		t.Fatalf("Epilog released the lease: %s", l.State)
	}
	if r := ctl.run(Epilogue, []string{"vc-epilogue"}, slurmEnv("epilog_slurmctld", "vcluster:image=deb12", "debug")); r.code != 0 {
		t.Fatalf("EpilogSlurmctld: %+v", r)
	}
	if l := srv.lease(t, "17"); l.State != api.StateReleased {
		t.Fatalf("lease after EpilogSlurmctld: %s", l.State)
	}
	// A Prolog that runs after the job ended never grants a new lease.
	if r := nd.run(Prologue, []string{"vc-prologue"}, slurmEnv("prolog_slurmd", "vcluster:image=deb12", "debug")); r.code != 0 {
		t.Fatalf("late Prolog: %+v", r)
	}
	if l := srv.lease(t, "17"); l.State != api.StateReleased || nd.host.has("17") {
		t.Fatalf("late Prolog revived the cluster: %+v", l)
	}
}

// A malformed comment makes the controller cancel the job and write the
// reason into the job's output; no node drains.
func TestSlurmMalformedRequest(t *testing.T) {
	ctl, out := slurmNode(t, "ctl", "", false)
	r := ctl.run(Prologue, []string{"vc-prologue"}, slurmEnv("prolog_slurmctld", "vcluster:image=", "debug"))
	if r.code != 0 {
		t.Fatalf("PrologSlurmctld exit %d, want 0 (the job is cancelled instead): %+v", r.code, r)
	}
	b, _ := os.ReadFile(filepath.Join(out, "scancel"))
	if strings.TrimSpace(string(b)) != "17" {
		t.Fatalf("scancel called with %q", b)
	}
	b, _ = os.ReadFile(filepath.Join(out, "slurm-17.out"))
	mustContain(t, "job output", string(b), "virtcloud: job 17 cancelled", `image "": use 1 to 63 letters`)
	// The output path is the user's to choose: an existing file, or one in
	// a directory neither the user's nor sticky, is never written.
	os.WriteFile(filepath.Join(out, "slurm-17.out"), []byte("precious\n"), 0o600)
	ctl.run(Prologue, []string{"vc-prologue"}, slurmEnv("prolog_slurmctld", "vcluster:image=", "debug"))
	if b, _ := os.ReadFile(filepath.Join(out, "slurm-17.out")); string(b) != "precious\n" {
		t.Fatalf("an existing file was written: %q", b)
	}
	os.Remove(filepath.Join(out, "slurm-17.out"))
	os.Chmod(out, 0o755)
	ctl.run(Prologue, []string{"vc-prologue"}, slurmEnv("prolog_slurmctld", "vcluster:image=", "debug"))
	if _, err := os.Stat(filepath.Join(out, "slurm-17.out")); !os.IsNotExist(err) {
		t.Fatalf("wrote into a directory of uid 0 for a job of uid 1000: %v", err)
	}
	nd, _ := slurmNode(t, "nodeA", "", true)
	if r := nd.run(Prologue, []string{"vc-prologue"}, slurmEnv("prolog_slurmd", "vcluster:image=", "debug")); r.code != 0 {
		t.Fatalf("Prolog drained the node for a user's typo: %+v", r)
	}
}

// Lease server down: the controller requeues (non-zero) without draining;
// the node's Prolog asks for a requeue and exits 0; epilogues exit 0 and
// queue the release.
func TestSlurmServerDown(t *testing.T) {
	ctl, out := slurmNode(t, "ctl", "", false)
	ctl.tool(t, "scontrol", "OUTDIR="+out+"\n"+`case "$1" in requeue) echo "$@" >> `+filepath.Join(out, "requeue")+"; exit 0;; esac\n"+fakeScontrol)
	r := ctl.run(Prologue, []string{"vc-prologue"}, slurmEnv("prolog_slurmctld", "", "vcluster"))
	if r.code != 1 {
		t.Fatalf("PrologSlurmctld exit %d, want 1 (requeue): %+v", r.code, r)
	}
	rec := spool.Dir{Path: filepath.Join(ctl.spool, "controller")}
	rec.PutJob(hostjob.Job{Job: "17", Token: 5, Manager: "slurm", Owner: true})
	r = ctl.run(Epilogue, []string{"vc-epilogue"}, slurmEnv("epilog_slurmctld", "", "vcluster"))
	if r.code != 0 {
		t.Fatalf("EpilogSlurmctld: %+v", r)
	}
	if rs, _ := rec.Releases(); len(rs) != 1 || rs[0].Token != 5 {
		t.Fatalf("queued releases: %+v", rs)
	}
	nd, _ := slurmNode(t, "nodeA", "", true)
	nd.tool(t, "scontrol", "OUTDIR="+out+"\n"+`case "$1" in requeue) echo "$@" >> `+filepath.Join(out, "requeue")+"; exit 0;; esac\n"+fakeScontrol)
	if r := nd.run(Prologue, []string{"vc-prologue"}, slurmEnv("prolog_slurmd", "", "vcluster")); r.code != 0 {
		t.Fatalf("Prolog with the server down drained the node: %+v", r)
	}
	b, _ := os.ReadFile(filepath.Join(out, "requeue"))
	if strings.TrimSpace(string(b)) != "requeue 17" {
		t.Fatalf("node Prolog did not requeue the job: %q", b)
	}
}

// Ordinary Slurm jobs: nothing happens, not even a config read beyond the
// queues, and no tool runs.
func TestSlurmOrdinaryJob(t *testing.T) {
	n, out := slurmNode(t, "nodeA", "", true)
	for _, ctx := range []string{"prolog_slurmctld", "prolog_slurmd", "epilog_slurmd", "epilog_slurmctld"} {
		p := Prologue
		if strings.HasPrefix(ctx, "epilog") {
			p = Epilogue
		}
		if r := n.run(p, []string{"vc-x"}, slurmEnv(ctx, "my own comment", "debug")); r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Errorf("%s: %+v", ctx, r)
		}
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("tools ran for an ordinary job: %v", ents)
	}
}

// Prolog and Epilog on a node without [dom0] have no bridge to build: the
// Prolog writes the job's network for TaskProlog from the controller's
// lease, the Epilog removes it, and neither changes the lease.
func TestSlurmNodeWithoutDom0(t *testing.T) {
	srv := startLeaseServer(t)
	ctl, _ := slurmNode(t, "ctl", srv.URL, false)
	n, _ := slurmNode(t, "nodeA", srv.URL, false)
	if r := ctl.run(Prologue, []string{"vc-prologue"}, slurmEnv("prolog_slurmctld", "vcluster", "debug")); r.code != 0 {
		t.Fatalf("PrologSlurmctld: %+v", r)
	}
	l := srv.lease(t, "17")
	if r := n.run(Prologue, []string{"vc-prologue"}, slurmEnv("prolog_slurmd", "vcluster", "debug")); r.code != 0 {
		t.Fatalf("Prolog: %+v", r)
	}
	envFile := spool.Dir{Path: n.spool}.EnvPath("17")
	want := fmt.Sprintf("VIRTCLOUD_VLAN=%d\nVIRTCLOUD_BRIDGE=\nVIRTCLOUD_LEASE=17\n", l.VLAN)
	if b, err := os.ReadFile(envFile); err != nil || string(b) != want {
		t.Errorf("job's network file: %q %v, want %q", b, err, want)
	}
	if r := n.run(Epilogue, []string{"vc-epilogue"}, slurmEnv("epilog_slurmd", "vcluster", "debug")); r.code != 0 {
		t.Fatalf("Epilog: %+v", r)
	}
	if _, err := os.Stat(envFile); !os.IsNotExist(err) {
		t.Errorf("job's network file after the Epilog: %v", err)
	}
	if got := srv.lease(t, "17"); got.State != api.StateActive || got.Token != l.Token {
		t.Errorf("the node's hooks changed the lease: %+v", got)
	}
}
