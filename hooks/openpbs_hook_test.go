package hooks

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/internal/api"
)

type pbsAction struct {
	Do     string `json:"do"`
	Detail string `json:"detail"`
}

// runPBSHook runs contrib/openpbs/virtcloud_hook.py under a stand-in pbs
// module, with the real vc-* binaries behind it, and returns what it did.
func runPBSHook(t *testing.T, n *node, event string, job map[string]any) []pbsAction {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to run the OpenPBS hook (Debian: python3)")
	}
	bin := filepath.Dir(binary(t, "vc-prologue"))
	binary(t, "vc-epilogue")
	binary(t, "vc-periodic")
	cmd := exec.Command(py, "../contrib/openpbs/virtcloud_hook.py")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONPATH=../contrib/openpbs/testdata", "VIRTCLOUD_BIN=" + bin,
		"VIRTCLOUD_CONFIG=" + n.cfg, "FAKE_PBS_EVENT=" + event}
	if job != nil {
		b, _ := json.Marshal(job)
		cmd.Env = append(cmd.Env, "FAKE_PBS_JOB="+string(b))
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hook %s: %v\n%s", event, err, out)
	}
	var acts []pbsAction
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var a pbsAction
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("hook output %q: %v", l, err)
		}
		acts = append(acts, a)
	}
	return acts
}

func last(acts []pbsAction) pbsAction {
	if len(acts) == 0 {
		return pbsAction{}
	}
	return acts[len(acts)-1]
}

func TestOpenPBSPythonHook(t *testing.T) {
	srv := startLeaseServer(t)
	n := newNode(t, "nodeB", nodeOpts{server: srv.URL})
	job := func(ms bool, req string) map[string]any {
		return map[string]any{"id": "9.pbs-srv", "euser": "alice", "queue": "workq", "exec_host": "nodeA/0*2+nodeB/0",
			"walltime": "00:20:00", "variables": map[string]string{"VIRTCLOUD_REQUEST": req}, "ms": ms}
	}
	// A sister's execjob_begin may come first: it creates the lease.
	if a := last(runPBSHook(t, n, "EXECJOB_BEGIN", job(false, "vcluster:name=pbs"))); a.Do != "accept" {
		t.Fatalf("sister begin: %+v", a)
	}
	if l := srv.lease(t, "9.pbs-srv"); l.State != api.StateActive || len(l.Hosts) != 2 || l.Attributes["name"] != "pbs" {
		t.Fatalf("lease: %+v", l)
	}
	if a := last(runPBSHook(t, n, "EXECJOB_BEGIN", job(true, "vcluster:name=pbs"))); a.Do != "accept" {
		t.Fatalf("primary begin: %+v", a)
	}
	if a := last(runPBSHook(t, n, "EXECJOB_END", job(false, "vcluster:name=pbs"))); a.Do != "accept" || srv.lease(t, "9.pbs-srv").State != api.StateActive {
		t.Fatalf("sister end: %+v", a)
	}
	if a := last(runPBSHook(t, n, "EXECJOB_END", job(true, "vcluster:name=pbs"))); a.Do != "accept" || srv.lease(t, "9.pbs-srv").State != api.StateReleased {
		t.Fatalf("primary end: %+v", a)
	}
	// A malformed request deletes the job with the reason as its comment.
	acts := runPBSHook(t, n, "EXECJOB_BEGIN", job(true, "vcluster:publish=far"))
	if len(acts) != 2 || acts[0].Do != "delete" || last(acts).Do != "reject" {
		t.Fatalf("malformed: %+v", acts)
	}
	mustContain(t, "job comment", acts[0].Detail, `publish "far": must be none, tunnel or direct`)
	// An ordinary job passes.
	if a := last(runPBSHook(t, n, "EXECJOB_BEGIN", job(true, ""))); a.Do != "accept" {
		t.Fatalf("ordinary: %+v", a)
	}
	// The periodic events carry no job: the hook must not look for one.
	for _, ev := range []string{"EXECHOST_PERIODIC", "PERIODIC"} {
		if a := last(runPBSHook(t, n, ev, nil)); a.Do != "accept" {
			t.Fatalf("%s: %+v", ev, a)
		}
	}
	// The lease server down: the begin hook rejects (requeue), the node stays.
	down := newNode(t, "nodeB", nodeOpts{budget: "1s"})
	acts = runPBSHook(t, down, "EXECJOB_BEGIN", job(true, "vcluster"))
	if a := last(acts); a.Do != "reject" || len(acts) != 1 {
		t.Fatalf("server down: %+v", acts)
	}
}
