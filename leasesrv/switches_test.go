package leasesrv_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/leasesrv"
	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

type fabric = audittest.Fabric

// newFabric is the lease server with three real switch peers: brno's a real
// SNMP agent, praha's an emulated Cisco IOS, plzen's an emulated Junos.
func newFabric(t *testing.T) *fabric { return audittest.Start(t) }

func writeKnownHosts(path string, emus ...*sshemu.Emulator) error {
	var lines []string
	for _, e := range emus {
		lines = append(lines, e.KnownHostsLine())
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

func TestCommitConfiguresExactlyThePlanOnRealPeers(t *testing.T) {
	f := newFabric(t)
	l := f.Srv.Activate("1.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	got := f.Carried(t, l.VLAN)
	want := map[string][]string{
		"brno-sw1":  {"Ethernet3", "Ethernet4", "Ethernet48"},
		"praha-sw1": {"Gi1/0/48", "Gi1/0/9"},
		"plzen-sw1": {"ge-0/0/23", "ge-0/0/47"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after commit the switches carry %v, want %v", got, want)
	}
	if _, err := f.Srv.Client(leasetest.SchedulerToken).Release(context.Background(), l.Job, l.Token); err != nil {
		t.Fatal(err)
	}
	if got := f.Carried(t, l.VLAN); len(got) != 0 {
		t.Fatalf("after release the switches still carry %v", got)
	}
}

func TestFailureAtAnyStepLeavesNothing(t *testing.T) {
	f := newFabric(t)
	ctx := context.Background()
	for k, emu := range []*sshemu.Emulator{f.Praha, f.Plzen} {
		// The emulated switch refuses the port's change the way the real
		// device prints an error for it.
		port := map[int]string{0: "Gi1/0/9", 1: "ge-0/0/23"}[k]
		emu.FailPort(port)
		job := fmt.Sprintf("fail%d.pbs", k)
		l := f.Srv.Create(job, "skirit82-1", "skurut9-1", "konos23-1")
		_, err := f.Srv.Client(leasetest.SchedulerToken).WaitActive(ctx, job, l.Token)
		leasetest.WantCode(t, err, api.CodeNetworkFault)
		if got := f.Srv.Get(job); got.State != api.StateFailed {
			t.Fatalf("%s: %s", job, got.State)
		}
		if got := f.Carried(t, l.VLAN); len(got) != 0 {
			t.Fatalf("switch %d failing: the others still carry %v", k, got)
		}
		emu.FailPort("")
	}
}

func TestUnreachableSwitchFailsTheCommitCleanly(t *testing.T) {
	f := newFabric(t)
	f.Plzen.Stop()
	l := f.Srv.Create("down.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	start := time.Now()
	_, err := f.Srv.Client(leasetest.SchedulerToken).WaitActive(context.Background(), l.Job, l.Token)
	leasetest.WantCode(t, err, api.CodeNetworkFault)
	if waited := time.Since(start); waited > 20*time.Second {
		t.Fatalf("the caller waited %s, far beyond the commit timeout", waited)
	}
	if err := f.Plzen.Restart(); err != nil {
		t.Fatal(err)
	}
	if got := f.Carried(t, l.VLAN); len(got) != 0 {
		t.Fatalf("a failed commit left %v", got)
	}
	// Once the switch is back, the next start works.
	next := f.Srv.Activate("down.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	if next.FailedStarts != 1 {
		t.Fatalf("failed_starts %d", next.FailedStarts)
	}
}

func TestMigrationAppliesOnlyTheDifference(t *testing.T) {
	f := newFabric(t)
	ctx := context.Background()
	l := f.Srv.Activate("mig.pbs", "skirit82-1", "skurut9-1")
	c := f.Srv.Client(leasetest.SchedulerToken)
	moved, err := c.Patch(ctx, l.Job, l.Token, nil, []string{"skirit82-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(moved.Sites, []string{"praha"}) {
		t.Fatalf("sites after the move: %v", moved.Sites)
	}
	got := f.Carried(t, l.VLAN)
	want := map[string][]string{"praha-sw1": {"Gi1/0/48", "Gi1/0/9"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the move the switches carry %v, want %v", got, want)
	}
	// plzen does not lend this VLAN (120; its pool starts at 180): the move is
	// refused and nothing changes.
	_, err = c.Patch(ctx, l.Job, l.Token, []string{"konos23-1"}, nil)
	leasetest.WantCode(t, err, api.CodePoolExhausted)
	if got := f.Carried(t, l.VLAN); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("a refused move changed the switches: %v", got)
	}
	if got := f.Srv.Get(l.Job); !slices.Equal(got.Hosts, []string{"skurut9-1"}) {
		t.Fatalf("a refused move changed the lease: %v", got.Hosts)
	}
}

// TestTwoServersShareSwitches: two lease servers on one Redis commit and
// release leases that share all three switches at the same time; every
// switch ends up carrying exactly what the active leases explain.
func TestTwoServersShareSwitches(t *testing.T) {
	f, cfg := audittest.Peers(t)
	rs := redistest.Start(t)
	clk := leasetest.NewClock()
	a := leasetest.Start(t, leasetest.Options{Config: cfg, Redis: rs, Clock: clk})
	b := leasetest.Start(t, leasetest.Options{Config: cfg, Redis: rs, Clock: clk})
	f.Net = a.Net.(*leasesrv.SwitchNetwork)
	ctx := context.Background()
	var mu sync.Mutex
	active := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := []*leasetest.Server{a, b}[i%2]
			other := []*leasetest.Server{b, a}[i%2]
			job := fmt.Sprintf("shared%d.pbs", i)
			l := srv.Activate(job, "skirit82-1", "skurut9-1", "konos23-1")
			if i%3 == 0 { // released through the other server
				if _, err := other.Client(leasetest.SchedulerToken).Release(ctx, job, l.Token); err != nil {
					t.Errorf("release %s: %v", job, err)
				}
				return
			}
			mu.Lock()
			active[job] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	a.Svc.Wait()
	b.Svc.Wait()
	checkInvariants(t, a.Cfg, a.Svc.Store(), f, active)
}

// TestTeardownWaitsForADownSwitch: a switch that is down when a lease ends
// keeps the lease releasing and its VLAN out of the pool; once the switch is
// back, the reaper finishes the teardown.
func TestTeardownWaitsForADownSwitch(t *testing.T) {
	f := newFabric(t)
	ctx := context.Background()
	l := f.Srv.Activate("down.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	f.Plzen.Stop()
	got, err := f.Srv.Client(leasetest.SchedulerToken).Release(ctx, l.Job, l.Token)
	if err != nil || got.State != api.StateReleasing {
		t.Fatalf("release with a switch down: %+v %v", got, err)
	}
	if owner, _ := f.Srv.Svc.Store().Owner(ctx, "plzen", l.VLAN); owner != l.Job {
		t.Fatalf("VLAN %d at plzen went back to the pool before its teardown finished (owner %q)", l.VLAN, owner)
	}
	f.Srv.Clock.Advance(time.Minute)
	f.Srv.Reap() // the switch is still down: the lease stays releasing
	if got := f.Srv.Get(l.Job); got.State != api.StateReleasing {
		t.Fatalf("teardown finished with a switch down: %s", got.State)
	}
	if err := f.Plzen.Restart(); err != nil {
		t.Fatal(err)
	}
	f.Srv.Clock.Advance(2 * time.Minute) // past the doubled retry window
	f.Srv.Reap()
	if got := f.Srv.Get(l.Job); got.State != api.StateReleased {
		t.Fatalf("after the switch came back: %s", got.State)
	}
	if got := f.Carried(t, l.VLAN); len(got) != 0 {
		t.Fatalf("after the teardown the switches still carry %v", got)
	}
}
