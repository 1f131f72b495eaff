package leasesrv_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

// wantRefusal fails the test unless err is an API error with this status,
// code and a message containing msg.
func wantRefusal(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != status || ae.Code != code || !strings.Contains(ae.Message, msg) {
		t.Fatalf("got %v, want %d %s with %q", err, status, code, msg)
	}
}

// TestHostBoundTokenKeepsItsHost: a token bound to skirit82-1 may create a
// lease over its host and others, but no migration of its may leave the
// lease without skirit82-1 (it could no longer release it, and would have
// reached beyond its host).
func TestHostBoundTokenKeepsItsHost(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	ctx := context.Background()
	n := e.Client(leasetest.Node82Token)
	l, _, err := n.Create(ctx, client.CreateRequest{Job: "1.pbs", Hosts: []string{"skirit82-1", "skurut9-1", "konos23-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if l, err = n.WaitActive(ctx, l.Job, l.Token); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ add, remove []string }{
		{nil, []string{"skirit82-1"}},
		{[]string{"skirit83-1"}, []string{"skirit82-1.example.org"}},
		{nil, []string{"skirit82-1", "skurut9-1"}},
	} {
		_, err := n.Patch(ctx, l.Job, l.Token, c.add, c.remove)
		wantRefusal(t, err, 403, api.CodeForbidden, `token "node82" may only change a lease so that it keeps one of its hosts (skirit82-1)`)
		if got := e.Get(l.Job); !slices.Equal(got.Hosts, l.Hosts) || got.State != api.StateActive {
			t.Fatalf("a refused patch changed the lease: %+v", got)
		}
	}
	// Changes that keep its host are its to make.
	if got, err := n.Patch(ctx, l.Job, l.Token, []string{"skirit83-1"}, []string{"skurut9-1", "konos23-1"}); err != nil ||
		!slices.Equal(got.Hosts, []string{"skirit82-1", "skirit83-1"}) {
		t.Fatalf("patch keeping its host: %+v %v", got, err)
	}
	// A scheduler token is bound to no host. (praha gave the lease's VLAN
	// back above: it is praha's again once its quarantine is over.)
	e.Clock.Advance(11 * time.Minute)
	if _, err := e.Client(leasetest.SchedulerToken).Patch(ctx, l.Job, l.Token, []string{"skurut9-1"}, []string{"skirit82-1"}); err != nil {
		t.Fatal(err)
	}
}

// TestHostBoundTokenHoldsAtMostItsLeases: by default a host-bound node
// token holds at most 8 live leases it created; asking again for one of
// them is no new lease, and leases others created over its host do not
// count.
func TestHostBoundTokenHoldsAtMostItsLeases(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	ctx := context.Background()
	n := e.Client(leasetest.Node82Token)
	e.Create("sched.pbs", "skirit82-1", "skurut9-1")
	create := func(job string) error {
		_, _, err := n.Create(ctx, client.CreateRequest{Job: job, Hosts: []string{"skirit82-1", "skurut9-1"}})
		return err
	}
	for i := range 8 {
		if err := create(fmt.Sprintf("%d.pbs", i)); err != nil {
			t.Fatalf("lease %d: %v", i, err)
		}
	}
	wantRefusal(t, create("8.pbs"), 429, api.CodeLimit, `token "node82" already holds 8 live leases`)
	if err := create("7.pbs"); err != nil {
		t.Fatalf("asking again for a lease it holds: %v", err)
	}
	l := e.Get("0.pbs")
	if _, err := n.Release(ctx, l.Job, l.Token); err != nil {
		t.Fatal(err)
	}
	if err := create("8.pbs"); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := e.Client(leasetest.Node82Token).Get(ctx, "8.pbs"); err != nil {
		t.Fatal(err)
	}
}

// TestRoleAndOwnerLimits: configured limits on a role's lifetimes and on
// an owner's live leases are refused with errors that name them.
func TestRoleAndOwnerLimits(t *testing.T) {
	cfg := strings.Replace(leasetest.Config, "min_ttl = \"1m\"\n", "min_ttl = \"1m\"\nnode_max_ttl = \"2h\"\nmax_leases_per_owner = 2\n", 1)
	e := leasetest.Start(t, leasetest.Options{Config: cfg})
	ctx := context.Background()
	node, sched := e.Client(leasetest.NodeToken), e.Client(leasetest.SchedulerToken)
	_, _, err := node.Create(ctx, client.CreateRequest{Job: "1.pbs", Owner: "alice", Hosts: []string{"skirit82-1"}, TTLSeconds: 3 * 3600})
	wantRefusal(t, err, 403, api.CodeForbidden, `ttl_seconds: token "node" (role node) may ask for at most 2h0m0s, not 3h0m0s`)
	l, _, err := node.Create(ctx, client.CreateRequest{Job: "1.pbs", Owner: "alice", Hosts: []string{"skirit82-1"}, TTLSeconds: 3600})
	if err != nil {
		t.Fatal(err)
	}
	_, err = node.Renew(ctx, l.Job, l.Token, 3*3600)
	wantRefusal(t, err, 403, api.CodeForbidden, "may ask for at most 2h0m0s")
	if _, err := sched.Renew(ctx, l.Job, l.Token, 3*3600); err != nil {
		t.Fatalf("the scheduler's limit is max_ttl: %v", err)
	}
	if _, _, err := sched.Create(ctx, client.CreateRequest{Job: "2.pbs", Owner: "alice", Hosts: []string{"skirit83-1"}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = sched.Create(ctx, client.CreateRequest{Job: "3.pbs", Owner: "alice", Hosts: []string{"skurut9-1"}})
	wantRefusal(t, err, 429, api.CodeLimit, `owner "alice" already holds 2 live leases, the limit ([lease] max_leases_per_owner)`)
	if _, _, err := sched.Create(ctx, client.CreateRequest{Job: "3.pbs", Owner: "bob", Hosts: []string{"skurut9-1"}}); err != nil {
		t.Fatalf("another owner: %v", err)
	}
	// Admins have no limits.
	if _, _, err := e.Client(leasetest.AdminToken).Create(ctx, client.CreateRequest{Job: "4.pbs", Owner: "alice", Hosts: []string{"konos23-1"}}); err != nil {
		t.Fatalf("admin: %v", err)
	}
}
