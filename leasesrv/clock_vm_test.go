//go:build vmtest

// The clock test steps the system clock, so it runs only inside a
// throw-away VM (scripts/phases/42-vm-clock.sh), with Redis outside it on
// the host: the lease server's clock jumps, the store's does not.
package leasesrv_test

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

// TestHostClockJump: the lease server's host clock jumps a day forward,
// then two days back, while leases run. No lease ends early, none is
// stretched, and each expires when the store's clock passes its deadline,
// because every deadline is set and judged by Redis TIME alone.
func TestHostClockJump(t *testing.T) {
	url := os.Getenv("VIRTCLOUD_CLOCK_REDIS")
	if url == "" {
		t.Fatal("VIRTCLOUD_CLOCK_REDIS (the host's Redis as seen from the VM) is not set")
	}
	vmNetwork(t)
	const ttl = 6 * time.Second
	e := leasetest.Start(t, leasetest.Options{
		Config:      strings.Replace(leasetest.Config, `min_ttl = "1m"`, `min_ttl = "1s"`, 1),
		RedisConfig: &config.Redis{URL: url},
		RealClock:   true,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	go e.Svc.RunReaper(ctx, 100*time.Millisecond)
	storeNow := func() time.Time {
		t.Helper()
		now, err := e.RDB.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		return now
	}
	activate := func(job string) *api.Lease {
		t.Helper()
		c := e.Client(leasetest.SchedulerToken)
		l, _, err := c.Create(ctx, client.CreateRequest{Job: job, Owner: "alice", Hosts: []string{"skirit82-1"}, TTLSeconds: int64(ttl / time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if l, err = c.WaitActive(ctx, job, l.Token); err != nil {
			t.Fatal(err)
		}
		if d := l.ExpiresAt.Sub(storeNow()); d <= ttl-2*time.Second || d > ttl {
			t.Fatalf("lease %s expires in %s by the store's clock, want about %s", job, d, ttl)
		}
		return l
	}
	if skew := time.Since(storeNow()).Abs(); skew > 2*time.Second {
		t.Fatalf("the VM's clock is %s off the host's before any jump", skew)
	}
	jump := func(d time.Duration) {
		t.Helper()
		ts := unix.NsecToTimespec(time.Now().Add(d).UnixNano())
		if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
			t.Fatalf("step the clock by %s: %v", d, err)
		}
		t.Logf("host clock stepped by %s: now %s, store %s", d, time.Now().UTC().Format(time.DateTime), storeNow().UTC().Format(time.DateTime))
	}
	t.Cleanup(func() { jump(time.Until(storeNow())) })

	before := activate("1.clock")
	jump(24 * time.Hour)
	e.Reap()
	after := activate("2.clock") // granted on a host a day ahead
	jump(-48 * time.Hour)
	e.Reap()
	for _, l := range []*api.Lease{before, after} {
		if got := e.Get(l.Job); got.State != api.StateActive || !got.ExpiresAt.Equal(l.ExpiresAt) {
			t.Fatalf("after the jumps, lease %s is %s expiring %s; want active expiring %s", l.Job, got.State, got.ExpiresAt, l.ExpiresAt)
		}
	}
	// The reaper, on a host a day behind, ends both at their deadlines.
	for _, l := range []*api.Lease{before, after} {
		var got *api.Lease
		for got = e.Get(l.Job); got.State == api.StateActive && ctx.Err() == nil; got = e.Get(l.Job) {
			time.Sleep(50 * time.Millisecond)
		}
		late := got.UpdatedAt.Sub(l.ExpiresAt)
		t.Logf("lease %s: %s (%s) %s after its deadline by the store's clock", l.Job, got.State, got.Reason, late)
		if got.Reason != "expired" || late < 0 || late > 3*time.Second {
			t.Errorf("lease %s ended %s (%s) at %s, its deadline was %s", l.Job, got.State, got.Reason, got.UpdatedAt, l.ExpiresAt)
		}
	}
}

// vmNetwork brings up loopback (the API) and gives eth0 the address
// QEMU's user network expects (Redis).
func vmNetwork(t *testing.T) {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	eth, err := netlink.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 0, 2, 15), Mask: net.CIDRMask(24, 32)}}
	if err := netlink.AddrReplace(eth, addr); err != nil {
		t.Fatal(err)
	}
	for _, l := range []netlink.Link{lo, eth} {
		if err := netlink.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
}
