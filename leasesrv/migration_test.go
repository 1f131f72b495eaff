package leasesrv_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

// A migration that leaves a site keeps the lease's VLAN there until the
// switches no longer carry it: a lease granted at that site meanwhile gets
// another VLAN, and afterwards the VLAN goes through quarantine.
func TestMigrationKeepsWhatItLeavesUntilTheSwitchesDropIt(t *testing.T) {
	net := newCountingNetwork()
	e := leasetest.Start(t, leasetest.Options{Network: net})
	ctx := context.Background()
	c := e.Client(leasetest.SchedulerToken)
	l := e.Activate("mig.pbs", "skirit82-1", "skurut9-1") // brno + praha: VLAN 120, the first free at both
	net.moving, net.release = make(chan *api.Lease), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Patch(ctx, l.Job, l.Token, nil, []string{"skurut9-1"})
		done <- err
	}()
	moving := <-net.moving // the switches of praha still carry the VLAN now
	if moving.Residue == nil || !slices.Equal(moving.Residue.Sites, []string{"praha"}) {
		t.Fatalf("during the move the lease's residue is %+v, want praha", moving.Residue)
	}
	other := e.Create("other.pbs", "skurut9-1")
	if other.VLAN == l.VLAN {
		t.Fatalf("a lease at praha got VLAN %d while the migration still had it on praha's switches", l.VLAN)
	}
	close(net.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	after := e.Get(l.Job)
	if after.Residue != nil || !slices.Equal(after.Sites, []string{"brno"}) {
		t.Fatalf("after the move: sites %v residue %+v", after.Sites, after.Residue)
	}
	// Quarantine (10m in this configuration): not before, then free again.
	e.Clock.Advance(9 * time.Minute)
	if n := e.Create("q1.pbs", "skurut9-1"); n.VLAN == l.VLAN {
		t.Fatalf("VLAN %d came back at praha before its quarantine ended", l.VLAN)
	}
	e.Clock.Advance(2 * time.Minute)
	if n := e.Create("q2.pbs", "skurut9-1"); n.VLAN != l.VLAN {
		t.Fatalf("after quarantine praha granted VLAN %d, want %d back", n.VLAN, l.VLAN)
	}
}

// Concurrent migrations of one lease all land: each applies its difference
// to the hosts the lease has when the store takes it, one after the other.
func TestConcurrentPatchesBothLand(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{Network: newCountingNetwork()})
	ctx := context.Background()
	c := e.Client(leasetest.SchedulerToken)
	l := e.Activate("many.pbs", "konos23-1") // VLAN 180: in every site's pool
	adds := []string{"skirit82-1", "skirit83-1", "skurut9-1"}
	var wg sync.WaitGroup
	for _, h := range adds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Patch(ctx, l.Job, l.Token, []string{h}, nil); err != nil {
				t.Errorf("add %s: %v", h, err)
			}
		}()
	}
	wg.Wait()
	got := e.Get(l.Job)
	if want := []string{"konos23-1", "skirit82-1", "skirit83-1", "skurut9-1"}; !slices.Equal(got.Hosts, want) {
		t.Fatalf("after three concurrent additions the lease has %v, want %v", got.Hosts, want)
	}
}
