package hooks

import (
	"testing"

	"github.com/virtcloud/virtcloud/internal/api"
)

func openpbsArgs(prog string, extra ...string) []string {
	return append([]string{prog, "--openpbs", "-job", "8.pbs-srv", "-user", "alice", "-queue", "workq",
		"-walltime", "00:30:00", "-hosts", "nodeA,nodeB"}, extra...)
}

// The OpenPBS hooks' flags, on the primary and on a sister, where
// execjob_begin may run first.
func TestOpenPBSLifecycle(t *testing.T) {
	srv := startLeaseServer(t)
	first := newNode(t, "nodeA", nodeOpts{server: srv.URL, dom0: true})
	sister := newNode(t, "nodeB", nodeOpts{server: srv.URL, dom0: true})
	if r := sister.run(Prologue, openpbsArgs("vc-prologue", "-request", "vcluster:publish=tunnel", "-sister"), nil); r.code != 0 || !sister.host.has("8.pbs-srv") {
		t.Fatalf("sister begin: %+v", r)
	}
	if r := first.run(Prologue, openpbsArgs("vc-prologue", "-request", "vcluster:publish=tunnel"), nil); r.code != 0 {
		t.Fatalf("primary begin: %+v", r)
	}
	if l := srv.lease(t, "8.pbs-srv"); l.State != api.StateActive || l.Attributes["publish"] != "tunnel" {
		t.Fatalf("lease: %+v", l)
	}
	sister.run(Epilogue, openpbsArgs("vc-epilogue", "-request", "vcluster:publish=tunnel", "-sister"), nil)
	if l := srv.lease(t, "8.pbs-srv"); l.State != api.StateActive {
		t.Fatalf("sister end released: %s", l.State)
	}
	if r := first.run(Epilogue, openpbsArgs("vc-epilogue", "-request", "vcluster:publish=tunnel"), nil); r.code != 0 {
		t.Fatalf("primary end: %+v", r)
	}
	if l := srv.lease(t, "8.pbs-srv"); l.State != api.StateReleased {
		t.Fatalf("lease after end: %s", l.State)
	}
	bad := first.run(Prologue, openpbsArgs("vc-prologue", "-request", "vcluster:name=a/b"), nil)
	if bad.code != OpenPBSAbort {
		t.Fatalf("malformed request: %+v", bad)
	}
	mustContain(t, "stderr", bad.stderr, `name "a/b"`)
	if r := first.run(Prologue, openpbsArgs("vc-prologue", "-bogus"), nil); r.code != OpenPBSOffline {
		t.Fatalf("bad flags: %+v", r)
	}
	if r := first.run(Prologue, openpbsArgs("vc-prologue"), nil); r.code != 0 || r.stdout != "" {
		t.Fatalf("ordinary job: %+v", r)
	}
}
