package leasesrv_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/leasesrv/store"
)

func TestConcurrentCreatesNeverShareAVLAN(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	var wg sync.WaitGroup
	vlans := make([]int, 64)
	errs := make([]error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hosts := [][]string{{"skirit82-1"}, {"skirit82-1", "skurut9-1"}, {"skurut9-1"}}[i%3]
			l, _, err := e.Client(leasetest.SchedulerToken).Create(context.Background(), client.CreateRequest{Job: fmt.Sprintf("%d.pbs", i), Hosts: hosts})
			errs[i] = err
			if err == nil {
				vlans[i] = l.VLAN
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	// brno leases and praha leases may reuse a VLAN only when they share no
	// site; every lease here shares a site with the two-site ones, so check
	// per site.
	seen := map[string]map[int]string{"brno": {}, "praha": {}}
	for i, v := range vlans {
		hosts := [][]string{{"brno"}, {"brno", "praha"}, {"praha"}}[i%3]
		for _, site := range hosts {
			if other, dup := seen[site][v]; dup {
				t.Fatalf("VLAN %d given twice at %s: to job %d and %s", v, site, i, other)
			}
			seen[site][v] = fmt.Sprint(i)
		}
	}
}

func TestAllocationPicksAVLANFreeAtEverySite(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	// brno 100-199 less 150, plus 250; praha 120-220; plzen 180-260.
	l := e.Create("1.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	if l.VLAN < 180 || l.VLAN > 199 {
		t.Fatalf("VLAN %d is not in the three sites' intersection 180-199", l.VLAN)
	}
	if !slices.Equal(l.Sites, []string{"brno", "plzen", "praha"}) {
		t.Fatalf("sites %v", l.Sites)
	}
	// Exhaust the three-site intersection (180-199: 20 VLANs, one taken).
	for i := range 19 {
		e.Create(fmt.Sprintf("x%d", i), "skirit83-1", "skurut9-1", "konos23-1")
	}
	_, _, err := e.Client(leasetest.SchedulerToken).Create(context.Background(), client.CreateRequest{Job: "late", Hosts: []string{"skirit82-1", "konos23-1", "skurut9-1"}})
	leasetest.WantCode(t, err, api.CodePoolExhausted)
	// brno with plzen still has 250.
	if l := e.Create("two", "skirit82-1", "konos23-1"); l.VLAN != 250 {
		t.Fatalf("brno+plzen got VLAN %d, want 250 (the only one left in both)", l.VLAN)
	}
	// brno alone still has plenty.
	if l := e.Create("one", "skirit82-1"); l.VLAN >= 180 && l.VLAN <= 199 {
		t.Fatalf("brno alone got taken VLAN %d", l.VLAN)
	}
}

func TestCreateIsIdempotentPerJob(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	c := e.Client(leasetest.SchedulerToken)
	ctx := context.Background()
	first, created, err := c.Create(ctx, client.CreateRequest{Job: "7[2].pbs.example.org", Hosts: []string{"skirit82-1", "skurut9-1"}})
	if err != nil || !created {
		t.Fatalf("first create: created=%v err=%v", created, err)
	}
	// Same hosts, other order, an alias: the same lease.
	again, created, err := c.Create(ctx, client.CreateRequest{Job: "7[2].pbs.example.org", Hosts: []string{"skurut9-1", "skirit82-1.example.org"}})
	if err != nil || created || again.Token != first.Token || again.VLAN != first.VLAN {
		t.Fatalf("second create: created=%v err=%v lease=%+v", created, err, again)
	}
	// Committed: still the same.
	if _, err := c.WaitActive(ctx, first.Job, first.Token); err != nil {
		t.Fatal(err)
	}
	if again, _, _ = c.Create(ctx, client.CreateRequest{Job: first.Job, Hosts: first.Hosts}); again.State != api.StateActive || again.Token != first.Token {
		t.Fatalf("create on an active lease: %+v", again)
	}
	// Other hosts: conflict.
	_, _, err = c.Create(ctx, client.CreateRequest{Job: first.Job, Hosts: []string{"skirit82-1"}})
	leasetest.WantCode(t, err, api.CodeConflict)
	// Released: a new grant with a new token.
	if _, err := c.Release(ctx, first.Job, first.Token); err != nil {
		t.Fatal(err)
	}
	next, created, err := c.Create(ctx, client.CreateRequest{Job: first.Job, Hosts: first.Hosts})
	if err != nil || !created || next.Token <= first.Token {
		t.Fatalf("create after release: created=%v err=%v token %d after %d", created, err, next.Token, first.Token)
	}
}

func TestFailedStartsSurviveNewGrants(t *testing.T) {
	net := newCountingNetwork()
	net.failApply = errors.New("switch brno-sw1 did not answer")
	e := leasetest.Start(t, leasetest.Options{Network: net})
	c := e.Client(leasetest.SchedulerToken)
	ctx := context.Background()
	for want := 1; want <= 3; want++ {
		l := e.Create("9.pbs", "skirit82-1")
		if l.FailedStarts != want-1 {
			t.Fatalf("grant %d: failed_starts %d, want %d", want, l.FailedStarts, want-1)
		}
		_, err := c.Commit(ctx, l.Job, l.Token)
		leasetest.WantCode(t, err, api.CodeNetworkFault)
		if got := e.Get("9.pbs"); got.State != api.StateFailed || got.FailedStarts != want {
			t.Fatalf("after failure %d: %+v", want, got)
		}
		// Commit again on the failed lease answers the same.
		_, err = c.Commit(ctx, l.Job, l.Token)
		leasetest.WantCode(t, err, api.CodeNetworkFault)
	}
}

func TestExpiryReleasesWithoutAnyoneAsking(t *testing.T) {
	net := newCountingNetwork()
	e := leasetest.Start(t, leasetest.Options{Network: net})
	l := e.Activate("5.pbs", "skirit82-1")
	e.Clock.Advance(59 * time.Minute)
	e.Reap()
	if got := e.Get(l.Job); got.State != api.StateActive {
		t.Fatalf("lease ended before its TTL: %+v", got)
	}
	e.Clock.Advance(2 * time.Minute)
	e.Reap()
	got := e.Get(l.Job)
	if got.State != api.StateReleased || got.Reason != "expired" || net.torn[l.Job] != 1 {
		t.Fatalf("after expiry: %+v, teardowns %d", got, net.torn[l.Job])
	}
	if owner, _ := e.Svc.Store().Owner(context.Background(), "brno", l.VLAN); owner != "" {
		t.Fatalf("VLAN %d still owned by %s", l.VLAN, owner)
	}
}

func TestRenewMovesTheExpiry(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	l := e.Activate("5.pbs", "skirit82-1")
	e.Clock.Advance(50 * time.Minute)
	if _, err := e.Client(leasetest.Node82Token).Renew(context.Background(), l.Job, l.Token, 3600); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(50 * time.Minute)
	e.Reap()
	if got := e.Get(l.Job); got.State != api.StateActive {
		t.Fatalf("renewed lease expired: %+v", got)
	}
	_, err := e.Client(leasetest.Node82Token).Renew(context.Background(), l.Job, l.Token, 10*24*3600*10)
	leasetest.WantCode(t, err, api.CodeBadRequest)
}

func TestHoldTimeoutAbortsAnUncommittedLease(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	l := e.Create("6.pbs", "skirit82-1")
	e.Clock.Advance(time.Minute)
	e.Reap()
	if got := e.Get(l.Job); got.State != api.StateHeld {
		t.Fatalf("hold aborted early: %+v", got)
	}
	e.Clock.Advance(2 * time.Minute)
	e.Reap()
	got := e.Get(l.Job)
	if got.State != api.StateFailed || got.Reason != "hold_timeout" || got.FailedStarts != 1 {
		t.Fatalf("after hold timeout: %+v", got)
	}
	_, err := e.Client(leasetest.SchedulerToken).Commit(context.Background(), l.Job, l.Token)
	leasetest.WantCode(t, err, api.CodeNetworkFault)
}

func TestQuarantineKeepsAReleasedVLANAwhile(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	// A one-VLAN intersection: brno+plzen share 180-199 and 250; take them
	// all but 250, then release 250's lease and ask again.
	for i := range 20 {
		e.Create(fmt.Sprintf("fill%d", i), "skirit82-1", "konos23-1")
	}
	last := e.Create("last", "skirit82-1", "konos23-1")
	if last.VLAN != 250 {
		t.Fatalf("expected the last shared VLAN 250, got %d", last.VLAN)
	}
	if _, err := e.Client(leasetest.SchedulerToken).Release(context.Background(), last.Job, last.Token); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.Client(leasetest.SchedulerToken).Create(context.Background(), client.CreateRequest{Job: "next", Hosts: []string{"skirit82-1", "konos23-1"}})
	leasetest.WantCode(t, err, api.CodePoolExhausted)
	pools, _ := e.Client(leasetest.ViewerToken).Pools(context.Background())
	if pools[0].Site != "brno" || pools[0].Quarantined != 1 {
		t.Fatalf("pools %+v", pools)
	}
	e.Clock.Advance(11 * time.Minute)
	if l := e.Create("next", "skirit82-1", "konos23-1"); l.VLAN != 250 {
		t.Fatalf("after quarantine got %d, want 250", l.VLAN)
	}
}

func TestStaleTokenIsRefused(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	c := e.Client(leasetest.SchedulerToken)
	ctx := context.Background()
	old := e.Activate("8.pbs", "skirit82-1")
	if _, err := c.Release(ctx, old.Job, old.Token); err != nil {
		t.Fatal(err)
	}
	cur := e.Activate("8.pbs", "skirit82-1")
	_, err := c.Release(ctx, cur.Job, old.Token)
	leasetest.WantCode(t, err, api.CodeStaleToken)
	_, err = c.Renew(ctx, cur.Job, old.Token, 600)
	leasetest.WantCode(t, err, api.CodeStaleToken)
	_, err = c.Commit(ctx, cur.Job, old.Token)
	leasetest.WantCode(t, err, api.CodeStaleToken)
	if got := e.Get(cur.Job); got.State != api.StateActive || got.Token != cur.Token {
		t.Fatalf("a stale token changed the lease: %+v", got)
	}
	// An admin forces without any token.
	if l, err := e.Client(leasetest.AdminToken).ForceRelease(ctx, cur.Job); err != nil || l.State != api.StateReleased || l.Reason != "forced" {
		t.Fatalf("force: %+v %v", l, err)
	}
}

func TestHostBoundTokenCannotTouchOtherHosts(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	ctx := context.Background()
	n := e.Client(leasetest.Node82Token)
	_, _, err := n.Create(ctx, client.CreateRequest{Job: "1.pbs", Hosts: []string{"skurut9-1"}})
	leasetest.WantCode(t, err, api.CodeForbidden)
	theirs := e.Create("2.pbs", "skurut9-1")
	_, err = n.Release(ctx, theirs.Job, theirs.Token)
	leasetest.WantCode(t, err, api.CodeForbidden)
	_, err = n.Commit(ctx, theirs.Job, theirs.Token)
	leasetest.WantCode(t, err, api.CodeForbidden)
	// Its own host, even in a lease with others: allowed.
	l, _, err := n.Create(ctx, client.CreateRequest{Job: "3.pbs", Hosts: []string{"skirit82-1", "skurut9-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.WaitActive(ctx, l.Job, l.Token); err != nil {
		t.Fatal(err)
	}
}

func TestTwoServersShareOneRedisAndReapEachLeaseOnce(t *testing.T) {
	net1, net2 := newCountingNetwork(), newCountingNetwork()
	a := leasetest.Start(t, leasetest.Options{Network: net1})
	b := leasetest.Start(t, leasetest.Options{Redis: a.Redis, Clock: a.Clock, Network: net2})
	const n = 40
	for i := range n {
		srv := []*leasetest.Server{a, b}[i%2]
		srv.Activate(fmt.Sprintf("%d.pbs", i), "skirit82-1", "skurut9-1")
	}
	a.Clock.Advance(2 * time.Hour)
	var wg sync.WaitGroup
	for _, e := range []*leasetest.Server{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				e.Svc.Reap(context.Background())
			}
			e.Svc.Wait()
		}()
	}
	wg.Wait()
	for i := range n {
		job := fmt.Sprintf("%d.pbs", i)
		if got := a.Get(job); got.State != api.StateReleased {
			t.Fatalf("%s: %s", job, got.State)
		}
		if torn := net1.torn[job] + net2.torn[job]; torn != 1 {
			t.Fatalf("%s torn down %d times", job, torn)
		}
	}
}

func TestReaperRollsBackAnAbandonedCommit(t *testing.T) {
	net := newCountingNetwork()
	e := leasetest.Start(t, leasetest.Options{Network: net})
	l := e.Create("4.pbs", "skirit82-1")
	// A server that died mid-commit: the store says committing, nobody works.
	if _, _, err := e.Svc.Store().BeginCommit(context.Background(), store.Commit{Job: l.Job, Token: l.Token, Actor: "dead"}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(2 * time.Minute)
	e.Reap()
	if got := e.Get(l.Job); got.State != api.StateFailed || got.Reason != "commit_abandoned" || net.torn[l.Job] != 1 {
		t.Fatalf("abandoned commit: %+v, teardowns %d", got, net.torn[l.Job])
	}
}

// TestCommitNeverAnswersReleased: a lease released while its commit was
// configuring the network was not committed; the commit answers 409
// bad_state, never 200 with state released.
func TestCommitNeverAnswersReleased(t *testing.T) {
	net := newCountingNetwork()
	net.gate, net.entered = make(chan struct{}), make(chan struct{}, 1)
	e := leasetest.Start(t, leasetest.Options{Network: net})
	l := e.Create("5.pbs", "skirit82-1")
	type answer struct {
		l   *api.Lease
		err error
	}
	got := make(chan answer, 1)
	go func() {
		cl, err := e.Client(leasetest.SchedulerToken).Commit(context.Background(), l.Job, l.Token)
		got <- answer{cl, err}
	}()
	<-net.entered
	if rl, err := e.Client(leasetest.AdminToken).ForceRelease(context.Background(), l.Job); err != nil || rl.State != api.StateReleased {
		t.Fatalf("force release during the commit: %+v %v", rl, err)
	}
	a := <-got
	close(net.gate)
	var ae *client.APIError
	if !errors.As(a.err, &ae) || ae.Status != 409 || ae.Code != api.CodeBadState || ae.Message != "the lease is released" {
		t.Fatalf("commit of a lease released meanwhile: %+v %v, want 409 bad_state", a.l, a.err)
	}
}

func TestHistoryIsKeptThenPurged(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	l := e.Activate("3.pbs", "skirit82-1")
	if _, err := e.Client(leasetest.SchedulerToken).Release(context.Background(), l.Job, l.Token); err != nil {
		t.Fatal(err)
	}
	ev, err := e.Client(leasetest.ViewerToken).History(context.Background(), l.Job)
	if err != nil || len(ev) != 3 || ev[2].Action != "release" {
		t.Fatalf("history %+v %v", ev, err)
	}
	e.Clock.Advance(2 * time.Hour)
	e.Reap()
	_, err = e.Client(leasetest.ViewerToken).Get(context.Background(), l.Job)
	leasetest.WantCode(t, err, api.CodeNotFound)
}
