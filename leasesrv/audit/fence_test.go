package audit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/audit"
	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// A repair decided on a reading that is no longer true is not written: the
// lease's token and state, or the VLAN's owner, are checked in Redis right
// before the device write.
func TestRepairsOfStaleReadingsAreRefused(t *testing.T) {
	f := audittest.Start(t)
	ctx := context.Background()
	st := f.Srv.Svc.Store()
	l := f.Srv.Activate("5.pbs", "skurut9-1")
	f.Apply(t, "praha-sw1", switchdrv.Change{VLAN: l.VLAN, Remove: []string{"Gi1/0/9"}})
	missing := api.Finding{Switch: "praha-sw1", Kind: api.DriftMissing, VLAN: l.VLAN, Ports: []string{"Gi1/0/9"}, Lease: l.Job}

	lock, err := st.LockSwitch(ctx, "praha-sw1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Rec.FixUnder(ctx, lock, missing, l.Job, l.Token+1); !errors.Is(err, store.ErrStale) {
		t.Fatalf("a repair for another grant of the lease: %v", err)
	}
	if got := on(t, f, "praha-sw1", l.VLAN); slices.Contains(got, "Gi1/0/9") {
		t.Fatalf("a refused repair was written: %v", got)
	}
	st.Unlock(ctx, lock)

	// Released meanwhile: the teardown owns the VLAN now.
	if _, err := f.Srv.Client(leasetest.SchedulerToken).Release(ctx, l.Job, l.Token); err != nil {
		t.Fatal(err)
	}
	f.Apply(t, "praha-sw1", switchdrv.Change{VLAN: l.VLAN, Name: "again", Add: []string{"Gi1/0/48"}})
	lock, err = st.LockSwitch(ctx, "praha-sw1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var se *store.StateError
	if err := f.Rec.FixUnder(ctx, lock, missing, l.Job, l.Token); !errors.As(err, &se) || se.State != api.StateReleased {
		t.Fatalf("a repair for a released lease: %v", err)
	}
	if got := on(t, f, "praha-sw1", l.VLAN); slices.Contains(got, "Gi1/0/9") {
		t.Fatalf("a repair for a released lease was written: %v", got)
	}

	// A new lease takes a VLAN seen as an orphan and starts committing (its
	// apply waits for the lock this test holds): the orphan is not deleted.
	next := f.Srv.Create("6.pbs", "skurut9-1")
	if err := f.Praha.AddVLAN(next.VLAN, "stale", "Gi1/0/30"); err != nil {
		t.Fatal(err)
	}
	orphan := api.Finding{Switch: "praha-sw1", Kind: api.DriftOrphan, VLAN: next.VLAN, Ports: []string{"Gi1/0/30"}}
	cctx, cancel := context.WithCancel(ctx)
	committed := make(chan struct{})
	go func() { f.Srv.Client(leasetest.SchedulerToken).Commit(cctx, next.Job, next.Token); close(committed) }()
	for i := 0; i < 200 && f.Srv.Get(next.Job).State == api.StateHeld; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	cancel() // the caller stops waiting; the apply goes on
	<-committed
	if got := f.Srv.Get(next.Job); got.State != api.StateCommitting {
		t.Fatalf("the next lease is %s", got.State)
	}
	if err := f.Rec.FixUnder(ctx, lock, orphan, "", 0); err == nil || !strings.Contains(err.Error(), "committing") {
		t.Fatalf("deleting a VLAN being committed: %v", err)
	}
	if got := on(t, f, "praha-sw1", next.VLAN); !slices.Contains(got, "Gi1/0/30") {
		t.Fatalf("the VLAN being committed was touched: %v", got)
	}
	st.Unlock(ctx, lock)
	f.Srv.Svc.Wait() // the commit's apply ran
	if got := f.Srv.Get(next.Job); got.State != api.StateActive {
		t.Fatalf("the next lease is %s", got.State)
	}
	// Now a plain pass sees the stray port as extra and the old lease's
	// leftover on the uplink as an orphan, and repairs both.
	rep, err := f.Rec.Run(ctx, audit.Options{Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range rep.Switches {
		for _, fd := range s.Findings {
			got = append(got, fmt.Sprintf("%s %s %d %v %v", fd.Switch, fd.Kind, fd.VLAN, fd.Ports, fd.Fixed))
		}
	}
	want := []string{fmt.Sprintf("praha-sw1 extra %d [Gi1/0/30] true", next.VLAN)}
	if next.VLAN != l.VLAN {
		want = append([]string{fmt.Sprintf("praha-sw1 orphan %d [Gi1/0/48] true", l.VLAN)}, want...)
		slices.Sort(want)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("final pass: %v, want %v", got, want)
	}
}
