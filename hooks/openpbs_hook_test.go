package hooks

import (
	"encoding/json"
	"fmt"
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
	bin := filepath.Dir(binary(t, "vc-prologue"))
	binary(t, "vc-epilogue")
	binary(t, "vc-periodic")
	return runPBSHookWith(t, n, bin, event, job)
}

// runPBSHookWith runs the hook with VIRTCLOUD_BIN=bin.
func runPBSHookWith(t *testing.T, n *node, bin, event string, job map[string]any) []pbsAction {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to run the OpenPBS hook (Debian: python3)")
	}
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

// did returns the detail of the first action of that kind, and whether
// there was one.
func did(acts []pbsAction, do string) (string, bool) {
	for _, a := range acts {
		if a.Do == do {
			return a.Detail, true
		}
	}
	return "", false
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
		// As a real MoM shows them: exec_host None, two chunks on nodeA.
		return map[string]any{"id": "9.pbs-srv", "euser": "alice", "queue": "workq",
			"exec_host2": "nodeA:15002/0*2+nodeA:15002/1+nodeB:15002/0", "exec_vnode": "(nodeA:ncpus=2)+(nodeA[1]:ncpus=1)+(nodeB:ncpus=1)",
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
	del, deleted := did(acts, "delete")
	if !deleted || last(acts).Do != "reject" {
		t.Fatalf("malformed: %+v", acts)
	}
	mustContain(t, "job comment", del, `publish "far": must be none, tunnel or direct`)
	// An ordinary job passes, decided in Python: no binary is run, so
	// even a node without them runs it.
	nobin := t.TempDir()
	acts = runPBSHookWith(t, n, nobin, "EXECJOB_BEGIN", job(true, ""))
	if a := last(acts); a.Do != "accept" {
		t.Fatalf("ordinary: %+v", acts)
	}
	if msg, _ := did(acts, "log"); !strings.Contains(msg, "ordinary") {
		t.Fatalf("ordinary: decision not logged: %+v", acts)
	}
	// A cluster job there is a host fault: the vnode goes offline with a
	// one-line reason naming the binary.
	acts = runPBSHookWith(t, n, nobin, "EXECJOB_BEGIN", job(true, "vcluster"))
	if c, _ := did(acts, "vnode_comment"); !strings.Contains(c, "vc-prologue: No such file or directory") || last(acts).Do != "reject" {
		t.Fatalf("missing binaries: %+v", acts)
	}
	// The job's network reaches its environment at launch.
	if a := last(runPBSHook(t, n, "EXECJOB_BEGIN", job(true, "vcluster:name=pbs"))); a.Do != "accept" {
		t.Fatalf("begin before launch: %+v", a)
	}
	acts = runPBSHook(t, n, "EXECJOB_LAUNCH", job(true, "vcluster:name=pbs"))
	vlan := srv.lease(t, "9.pbs-srv").VLAN
	if env, _ := did(acts, "env"); !strings.Contains(env, fmt.Sprintf("VIRTCLOUD_VLAN=%d", vlan)) || !strings.Contains(env, "VIRTCLOUD_LEASE=9.pbs-srv") {
		t.Fatalf("launch: %+v", acts)
	}
	runPBSHook(t, n, "EXECJOB_END", job(true, "vcluster:name=pbs"))
	// queuejob turns -l vcluster=... into the job variable the MoM sees.
	q := job(true, "")
	q["vcluster"] = "image=deb12"
	if v, _ := did(runPBSHook(t, n, "QUEUEJOB", q), "variable"); v != "VIRTCLOUD_REQUEST=vcluster:image=deb12" {
		t.Fatalf("queuejob set %q", v)
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
	if a := last(acts); a.Do != "reject" || strings.Contains(a.Detail, "\n") || !strings.Contains(a.Detail, "lease server") {
		t.Fatalf("server down: %+v", acts)
	}
	if _, offline := did(acts, "vnode_state"); offline {
		t.Fatalf("server down took the node offline: %+v", acts)
	}
}
