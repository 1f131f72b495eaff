//go:build !vmtest

// The VM has no redis-server; the lease server runs in the 10-unit phase.
package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/dom0"
	"github.com/virtcloud/virtcloud/internal/hostjob"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

// TestGCAgainstLeaseServer runs gc against a real lease server: the job
// files of a live lease on this host stay, those of a released lease and of
// a lease the server never heard of go.
func TestGCAgainstLeaseServer(t *testing.T) {
	srv := leasetest.Start(t, leasetest.Options{})
	live := srv.Activate("100[1].pbs", "skirit82-1", "skirit83-1")
	other := srv.Activate("101.pbs", "skurut9-1")
	gone := srv.Activate("102.pbs", "skirit82-1")
	if _, err := srv.Client(leasetest.SchedulerToken).Release(context.Background(), gone.Job, gone.Token); err != nil {
		t.Fatal(err)
	}
	conf, ns := setup(t, dom0.ModeClassic, fmt.Sprintf("server = %q\ntoken = %q\nhost = \"skirit82-1.example.org\"\n", srv.URL, leasetest.ViewerToken))
	state := filepath.Join(filepath.Dir(conf), "state")
	for _, j := range []hostjob.Job{{Job: live.Job, VLAN: live.VLAN}, {Job: gone.Job, VLAN: gone.VLAN}, {Job: "99.pbs", VLAN: 300}} {
		if err := hostjob.Write(state, j); err != nil {
			t.Fatal(err)
		}
	}
	r := runCLI(t, "", "--config", conf, "--netns", ns.Path(), "gc", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "would remove VLAN 300") || strings.Contains(r.stdout, fmt.Sprint("VLAN ", live.VLAN, " ")) {
		t.Fatalf("gc --dry-run: %+v", r)
	}
	if jobs, _ := hostjob.ReadAll(state); len(jobs) != 3 {
		t.Fatalf("--dry-run removed job files: %v", jobs)
	}
	if r := runCLI(t, "", "--config", conf, "--netns", ns.Path(), "gc"); r.code != 0 {
		t.Fatalf("gc: %+v", r)
	}
	jobs, err := hostjob.ReadAll(state)
	if err != nil || len(jobs) != 1 || jobs[0].Job != live.Job {
		t.Fatalf("after gc: %v %v (live %s, other host %s)", jobs, err, live.Job, other.Job)
	}
}
