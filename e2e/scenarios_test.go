//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func allHosts() []string {
	var hs []string
	for _, h := range bed.hosts {
		hs = append(hs, h.name)
	}
	return hs
}

// cluster is a running job with one guest per host, guest i at 10.0.0.i+1.
type cluster struct {
	job    job
	vlan   int
	guests []*guest
}

// startCluster runs the job's prologues and boots its guests.
func startCluster(t *testing.T, ctx context.Context, j job, prefix string) *cluster {
	t.Helper()
	t0 := time.Now()
	c := abandonOnFailure(t, j)
	bed.mustHook(t, ctx, j, false)
	c.vlan = bed.lease(t, ctx, j.id).VLAN
	t.Logf("job %s: prologues on %d hosts in %s: VLAN %d", j.id, len(j.hosts), time.Since(t0).Round(time.Millisecond), c.vlan)
	defer func() {
		t.Logf("job %s: %d guests up in %s", j.id, len(c.guests), time.Since(t0).Round(time.Millisecond))
	}()
	for i, h := range j.hosts {
		g, err := bed.addGuest(ctx, fmt.Sprintf("%s%d", prefix, i+1), h, fmt.Sprintf("10.0.0.%d", i+1), c.vlan)
		if err != nil {
			t.Fatal(err)
		}
		c.guests = append(c.guests, g)
	}
	return c
}

// stop shuts the guests down and, with epilogue, runs the job's epilogues.
func (c *cluster) stop(t *testing.T, ctx context.Context, epilogue bool) {
	t.Helper()
	t0 := time.Now()
	for _, g := range c.guests {
		if err := bed.destroy(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("job %s: %d guests gone in %s", c.job.id, len(c.guests), time.Since(t0).Round(time.Millisecond))
	c.guests = nil
	if epilogue {
		bed.mustHook(t, ctx, c.job, true)
		t.Logf("job %s: epilogues done in %s", c.job.id, time.Since(t0).Round(time.Millisecond))
	}
}

// abandonOnFailure returns the job's cluster, to be abandoned if the test
// fails, whatever state it is in by then.
func abandonOnFailure(t *testing.T, j job) *cluster {
	c := &cluster{job: j}
	t.Cleanup(func() {
		if t.Failed() {
			c.abandon(t)
		}
	})
	return c
}

// abandon clears what a failed test left of the cluster, the way an
// administrator would (guests destroyed, lease force-released, vc-periodic
// and vc-dom0 gc on every host), so the next scenario starts clean.
func (c *cluster) abandon(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, g := range c.guests {
		if bed.destroy(ctx, g) != nil {
			_, _ = sh(ctx, "ip", "netns", "del", g.ns) // its vif may be gone already
		}
	}
	if out, err := bed.vcctl(ctx, "lease", "release", "--force", c.job.id); err != nil {
		t.Logf("cleanup: %v: %s", err, out)
	}
	for _, hn := range allHosts() {
		if out, err := bed.periodic(ctx, hn); err != nil {
			t.Logf("cleanup: %v: %s", err, out)
		}
		if out, err := bed.dom0(ctx, hn, "gc"); err != nil {
			t.Logf("cleanup: vc-dom0 gc on %s: %v: %s", hn, err, out)
		}
	}
	t.Logf("cleanup: job %s force-released and every host collected after the failure", c.job.id)
}

// meshPing has every guest ping every other guest of its cluster (one
// shell per guest) and returns the pairs that failed.
func meshPing(ctx context.Context, gs []*guest) []string {
	var mu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	for _, src := range gs {
		var loop strings.Builder
		for _, dst := range gs {
			if dst != src {
				fmt.Fprintf(&loop, "ping -c 1 -W 2 %[1]s >/dev/null 2>&1 || echo %[1]s; ", dst.ip)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := in(ctx, src.ns, "sh", "-c", loop.String())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", src.ns, err))
			}
			for _, ip := range strings.Fields(out) {
				for _, dst := range gs {
					if dst.ip == ip {
						failed = append(failed, fmt.Sprintf("%s(%s)->%s(%s)", src.ns, src.host, dst.ns, dst.host))
					}
				}
			}
		}()
	}
	wg.Wait()
	return failed
}

// counters reads the receive counters of guests.
func counters(t *testing.T, ctx context.Context, gs []*guest) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, g := range gs {
		n, err := rxPackets(ctx, g.ns)
		if err != nil {
			t.Fatal(err)
		}
		m[g.ns] = n
	}
	return m
}

// freezeNeighbours checks that each guest learned its peers' own MACs and
// makes those entries permanent, so the cluster is silent afterwards (no
// delayed ARP probes) while the other cluster's traffic is watched.
func freezeNeighbours(t *testing.T, ctx context.Context, gs []*guest) {
	t.Helper()
	macs := map[string]string{}
	for _, g := range gs {
		mac, err := in(ctx, g.ns, "cat", "/sys/class/net/eth0/address")
		if err != nil {
			t.Fatal(err)
		}
		macs[g.ip] = strings.TrimSpace(mac)
	}
	for _, g := range gs {
		out, err := in(ctx, g.ns, "ip", "-j", "neigh", "show", "dev", "eth0")
		if err != nil {
			t.Fatal(err)
		}
		var ns []struct {
			Dst    string `json:"dst"`
			LLAddr string `json:"lladdr"`
		}
		if err := json.Unmarshal([]byte(out), &ns); err != nil {
			t.Fatalf("ip -j neigh: %v: %s", err, out)
		}
		for _, n := range ns {
			if n.LLAddr == "" {
				continue
			}
			if n.LLAddr != macs[n.Dst] {
				t.Errorf("guest %s has %s at %s, but its cluster's %s is %s", g.ns, n.Dst, n.LLAddr, n.Dst, macs[n.Dst])
			}
			if _, err := in(ctx, g.ns, "ip", "neigh", "replace", n.Dst, "lladdr", n.LLAddr, "nud", "permanent", "dev", "eth0"); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestTwoClustersSameAddresses: two clusters on the same six hosts across
// three sites, their guests using the same addresses 10.0.0.1-6. Every
// guest reaches every member of its own cluster, and not one frame of that
// reaches a guest of the other cluster.
func TestTwoClustersSameAddresses(t *testing.T) {
	ctx := testCtx(t, 4*time.Minute)
	hosts := allHosts()
	fmt.Printf("\n== Two cluster jobs, alice's and bob's, on the same six hosts at three sites; both clusters' guests use 10.0.0.1-6\n")
	start := time.Now()
	a := startCluster(t, ctx, job{id: "101.torque-srv", user: "alice", hosts: hosts, walltime: "01:00:00"}, "ga")
	ready := time.Since(start)
	fmt.Printf("prologue (as pbs_mom runs it) on 6 hosts: job %s has VLAN %d; vc-dom0 attached 6 guests (%s)\n", a.job.id, a.vlan, ready.Round(time.Millisecond))
	b := startCluster(t, ctx, job{id: "102.torque-srv", user: "bob", hosts: hosts, walltime: "01:00:00"}, "gb")
	fmt.Printf("prologue on 6 hosts: job %s has VLAN %d; vc-dom0 attached 6 guests\n", b.job.id, b.vlan)
	if a.vlan == b.vlan {
		t.Fatalf("both clusters got VLAN %d", a.vlan)
	}
	fmt.Printf("the lease server configured the site switches over SSH (read back from their kernel bridges):\n")
	for _, site := range sites {
		m, err := switchVLANs(ctx, site)
		if err != nil {
			t.Fatal(err)
		}
		ports := slices.Sorted(maps.Keys(m))
		var line []string
		for _, port := range ports {
			line = append(line, fmt.Sprintf("%s %v", port, m[port]))
		}
		fmt.Printf("  %s-sw  %s\n", site, strings.Join(line, ", "))
	}
	// An address only cluster B has: nobody in A may reach it.
	if _, err := in(ctx, b.guests[0].ns, "ip", "addr", "add", "10.0.0.100/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	reach := map[*cluster]int{}
	leak := map[*cluster]int{}
	for _, pair := range [][2]*cluster{{a, b}, {b, a}} {
		own, other := pair[0], pair[1]
		t0 := time.Now()
		before := counters(t, ctx, other.guests)
		failed := meshPing(ctx, own.guests)
		if len(failed) > 0 {
			t.Errorf("cluster %s (VLAN %d): no answer for %s", own.job.id, own.vlan, strings.Join(failed, ", "))
		}
		reach[own] = len(own.guests)*(len(own.guests)-1) - len(failed)
		if own == a && ping(ctx, a.guests[3], "10.0.0.100") {
			t.Errorf("guest %s of cluster A reached 10.0.0.100, an address of cluster B", a.guests[3].ns)
		}
		after := counters(t, ctx, other.guests)
		for g, n := range after {
			leak[other] += n - before[g]
		}
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("while cluster %s pinged, guests of cluster %s received frames: before %v, after %v", own.job.id, other.job.id, before, after)
		}
		freezeNeighbours(t, ctx, own.guests)
		t.Logf("cluster %s: sweep and checks in %s", own.job.id, time.Since(t0).Round(time.Millisecond))
	}
	fmt.Printf("BENCH e2e_cluster_ready_ms=%d\n", ready.Milliseconds())
	fmt.Printf("\n%-6s %-15s %-4s %-19s %-28s %s\n", "owner", "job", "VLAN", "sites", "guests", "who reaches whom")
	for _, c := range []*cluster{a, b} {
		other := map[*cluster]*cluster{a: b, b: a}[c]
		fmt.Printf("%-6s %-15s %-4d %-19s %-28s %d/%d own pairs; %d frames reached %s's guests\n", c.job.user, c.job.id, c.vlan,
			strings.Join(sites, ","), fmt.Sprintf("%s1-%s6 at 10.0.0.1-6", c.guests[0].ns[:2], c.guests[0].ns[:2]),
			reach[c], len(c.guests)*(len(c.guests)-1), leak[other], other.job.user)
	}
	a.stop(t, ctx, true)
	b.stop(t, ctx, true)
	bed.wantClean(t, ctx)
	fmt.Printf("\n== Guests stopped, epilogues run: every switch and host is clean, both VLANs are back in the pools\n")
}

// TestSingleSiteClustersShareNoCore: alice's cluster at site1 and bob's at
// site2, each on one switch, reuse one VLAN ID (neither puts it on its
// uplink), and carol's two-site cluster beside them takes another; the core
// trunks every pool VLAN. All three use the guest addresses 10.0.0.1-2:
// each reaches its own guests, and not one frame reaches another's.
func TestSingleSiteClustersShareNoCore(t *testing.T) {
	ctx := testCtx(t, 4*time.Minute)
	fmt.Printf("\n== Single-site clusters at two sites reuse a VLAN ID; a two-site cluster beside them; all at 10.0.0.1-2\n")
	a := startCluster(t, ctx, job{id: "121.torque-srv", user: "alice", hosts: []string{"s1h1", "s1h2"}, walltime: "01:00:00"}, "sa")
	b := startCluster(t, ctx, job{id: "122.torque-srv", user: "bob", hosts: []string{"s2h1", "s2h2"}, walltime: "01:00:00"}, "sb")
	c := startCluster(t, ctx, job{id: "123.torque-srv", user: "carol", hosts: []string{"s1h1", "s3h1"}, walltime: "01:00:00"}, "sc")
	fmt.Printf("VLANs: alice (site1) %d, bob (site2) %d, carol (site1+site3) %d\n", a.vlan, b.vlan, c.vlan)
	if a.vlan != b.vlan {
		t.Errorf("alice's and bob's single-site clusters got VLANs %d and %d: with equal, empty pools they reuse one ID", a.vlan, b.vlan)
	}
	if c.vlan == a.vlan {
		t.Fatalf("carol's cluster shares site1 with alice's and got the same VLAN %d", c.vlan)
	}
	for site, vlans := range map[string][]int{"site1": {a.vlan}, "site2": {b.vlan}} {
		m, err := switchVLANs(ctx, site)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vlans {
			if slices.Contains(m["uplink"], v) {
				t.Errorf("%s-sw carries single-site VLAN %d on its uplink: %v", site, v, m["uplink"])
			}
		}
		if !slices.Contains(m["uplink"], c.vlan) && site == "site1" {
			t.Errorf("site1-sw does not carry carol's two-site VLAN %d on its uplink: %v", c.vlan, m["uplink"])
		}
	}
	all := []*cluster{a, b, c}
	for _, own := range all {
		var others []*guest
		for _, o := range all {
			if o != own {
				others = append(others, o.guests...)
			}
		}
		before := counters(t, ctx, others)
		if failed := meshPing(ctx, own.guests); len(failed) > 0 {
			t.Errorf("cluster %s (VLAN %d): no answer for %s", own.job.id, own.vlan, strings.Join(failed, ", "))
		}
		if after := counters(t, ctx, others); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("while %s's cluster pinged, other clusters' guests received frames: before %v, after %v", own.job.user, before, after)
		}
		freezeNeighbours(t, ctx, own.guests)
		fmt.Printf("%-6s VLAN %d: %d guests reach each other; no frame reached the other clusters' guests\n", own.job.user, own.vlan, len(own.guests))
	}
	if out, err := bed.vcctl(ctx, "audit", "--isolation"); err != nil {
		t.Errorf("vcctl audit --isolation: %v\n%s", err, out)
	} else {
		fmt.Printf("vcctl audit --isolation: %s", out)
	}
	for _, cl := range all {
		cl.stop(t, ctx, true)
	}
	bed.wantClean(t, ctx)
}

// TestTaggedFramesStayHome: a guest sends frames carrying the other
// cluster's VLAN tag (802.1Q, and 802.1ad outer tags): no other guest,
// of either cluster, receives anything.
func TestTaggedFramesStayHome(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	hosts := []string{"s1h1", "s2h1"}
	a := startCluster(t, ctx, job{id: "111.torque-srv", user: "alice", hosts: hosts, walltime: "01:00:00"}, "ta")
	b := startCluster(t, ctx, job{id: "112.torque-srv", user: "bob", hosts: hosts, walltime: "01:00:00"}, "tb")
	evil := a.guests[0]
	others := append([]*guest{a.guests[1]}, b.guests...)
	_, err := in(ctx, evil.ns, "sh", "-c", fmt.Sprintf(
		"ip link add link eth0 name q%[1]d type vlan id %[1]d && ip link set q%[1]d up && ip addr add 10.0.1.1/24 dev q%[1]d && "+
			"ip link add link eth0 name ad%[1]d type vlan proto 802.1ad id %[1]d && ip link set ad%[1]d up && ip addr add 10.0.2.1/24 dev ad%[1]d && "+
			"ip link add link eth0 name q%[2]d type vlan id %[2]d && ip link set q%[2]d up && ip addr add 10.0.3.1/24 dev q%[2]d",
		b.vlan, a.vlan))
	if err != nil {
		t.Fatal(err)
	}
	txBefore, _ := in(ctx, evil.ns, "cat", "/sys/class/net/eth0/statistics/tx_packets")
	before := counters(t, ctx, others)
	for _, ip := range []string{"10.0.1.2", "10.0.2.2", "10.0.3.2"} {
		if ping(ctx, evil, ip) {
			t.Errorf("tagged ping to %s was answered", ip)
		}
	}
	txAfter, _ := in(ctx, evil.ns, "cat", "/sys/class/net/eth0/statistics/tx_packets")
	if strings.TrimSpace(txBefore) == strings.TrimSpace(txAfter) {
		t.Fatalf("the guest sent no tagged frame at all (tx_packets %s): the test proves nothing", strings.TrimSpace(txAfter))
	}
	if after := counters(t, ctx, others); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("tagged frames from %s arrived elsewhere: rx before %v, after %v", evil.ns, before, after)
	}
	t.Logf("%s sent tagged frames (tx %s -> %s); other guests' rx unchanged %v", evil.ns,
		strings.TrimSpace(txBefore), strings.TrimSpace(txAfter), before)
	// The untagged path of its own cluster still works.
	if !ping(ctx, evil, a.guests[1].ip) {
		t.Errorf("%s lost its own cluster", evil.ns)
	}
	a.stop(t, ctx, true)
	b.stop(t, ctx, true)
	bed.wantClean(t, ctx)
}

// TestMigrationAcrossSites: a guest moves from site2 to a host at site3;
// the lease's hosts are patched, the VLAN follows it, the guest keeps its
// address and MAC and reaches its peer again; site2 is left clean.
func TestMigrationAcrossSites(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	c := startCluster(t, ctx, job{id: "121.torque-srv", user: "carol", hosts: []string{"s1h1", "s2h1"}, walltime: "01:00:00"}, "mg")
	if failed := meshPing(ctx, c.guests); len(failed) > 0 {
		t.Fatalf("before migration: %v", failed)
	}
	mover := c.guests[1]
	mac, err := in(ctx, mover.ns, "cat", "/sys/class/net/eth0/address")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := bed.vcctl(ctx, "lease", "patch", c.job.id, "--add", "s3h2", "--remove", "s2h1"); err != nil {
		t.Fatalf("patch lease hosts: %v: %s", err, out)
	}
	// The source host lets go of the guest, then of the VLAN.
	if err := bed.unplug(ctx, mover); err != nil {
		t.Fatal(err)
	}
	if out, err := bed.dom0(ctx, "s2h1", "gc"); err != nil {
		t.Fatalf("vc-dom0 gc on s2h1: %v: %s", err, out)
	}
	if _, err := bed.addGuest(ctx, mover.ns, "s3h2", mover.ip, c.vlan); err != nil {
		t.Fatal(err)
	}
	mover.host = "s3h2"
	// Xen keeps the MAC across a migration.
	if _, err := in(ctx, mover.ns, "ip", "link", "set", "eth0", "address", strings.TrimSpace(mac)); err != nil {
		t.Fatal(err)
	}
	// As a migrated Xen guest does, it announces itself from its new
	// place, so the bridges on the way forget the old one.
	if _, err := in(ctx, mover.ns, "arping", "-U", "-c", "1", "-I", "eth0", mover.ip); err != nil {
		t.Fatal(err)
	}
	if failed := meshPing(ctx, c.guests); len(failed) > 0 {
		t.Errorf("after migration: %v", failed)
	}
	if m, err := switchVLANs(ctx, "site2"); err != nil || len(m) > 0 {
		t.Errorf("site2's switch after the guest left: %v %v", m, err)
	}
	if links, err := hostLinks(ctx, "s2h1"); err != nil || len(links) > 0 {
		t.Errorf("s2h1 after the guest left: %v %v", links, err)
	}
	if m, err := switchVLANs(ctx, "site3"); err != nil || fmt.Sprint(m) != fmt.Sprintf("map[h2:[%d] uplink:[%d]]", c.vlan, c.vlan) {
		t.Errorf("site3's switch carries %v, want VLAN %d on h2 and uplink (%v)", m, c.vlan, err)
	}
	c.stop(t, ctx, true)
	if out, err := bed.periodic(ctx, "s3h2"); err != nil {
		t.Logf("vc-periodic on s3h2: %v", err)
	} else if out != "" {
		t.Logf("vc-periodic on s3h2: %s", out)
	}
	if out, err := bed.dom0(ctx, "s3h2", "gc"); err != nil {
		t.Fatalf("vc-dom0 gc on s3h2: %v: %s", err, out)
	}
	bed.wantClean(t, ctx)
}

// clusterEnd runs a three-site cluster, ends it with end, and checks that
// everything is clean.
func clusterEnd(t *testing.T, id, walltime string, end func(ctx context.Context, c *cluster)) {
	ctx := testCtx(t, 3*time.Minute)
	c := startCluster(t, ctx, job{id: id, user: "dave", hosts: []string{"s1h2", "s2h2", "s3h2"}, walltime: walltime}, "le")
	if failed := meshPing(ctx, c.guests); len(failed) > 0 {
		t.Fatalf("cluster not up: %v", failed)
	}
	end(ctx, c)
	bed.wantClean(t, ctx)
}

// TestJobEndEpilogue: the job ends normally; the epilogues clean up.
func TestJobEndEpilogue(t *testing.T) {
	clusterEnd(t, "131.torque-srv", "01:00:00", func(ctx context.Context, c *cluster) {
		c.stop(t, ctx, true)
	})
}

// TestWalltimeExpiry: the job is killed at walltime and no epilogue runs
// at all: the lease expires on the server, which clears the switches, and
// each host's vc-periodic clears the host.
func TestWalltimeExpiry(t *testing.T) {
	clusterEnd(t, "132.torque-srv", "00:00:06", func(ctx context.Context, c *cluster) {
		err := waitFor(ctx, "the lease to expire", func() bool {
			l, err := bed.api.Get(ctx, c.job.id)
			return err == nil && l.State == api.StateReleased
		})
		if err != nil {
			t.Fatal(err)
		}
		c.stop(t, ctx, false)
		for _, h := range c.job.hosts {
			if out, err := bed.periodic(ctx, h); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}
	})
}

// TestAdminForceRelease: an administrator force-releases the lease with
// vcctl; the VMs go, each host's vc-periodic clears the host.
func TestAdminForceRelease(t *testing.T) {
	clusterEnd(t, "133.torque-srv", "01:00:00", func(ctx context.Context, c *cluster) {
		if out, err := bed.vcctl(ctx, "lease", "release", "--force", c.job.id); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		c.stop(t, ctx, false)
		for _, h := range c.job.hosts {
			if out, err := bed.periodic(ctx, h); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}
	})
}

// TestSwitchDownAtStart: site2's switch does not answer SSH when a cluster
// spanning site1 and site2 starts. The prologue fails, nothing is left on
// any switch or host and the VLAN goes back to the pool; once the switch is
// back the job starts: the same job when the prologue asked Torque to
// requeue it (exit 2), a resubmitted one when it aborted it (exit 1).
func TestSwitchDownAtStart(t *testing.T) {
	ctx := testCtx(t, 3*time.Minute)
	j := job{id: "141.torque-srv", user: "erin", hosts: []string{"s1h1", "s2h1"}, walltime: "01:00:00"}
	abandonOnFailure(t, j)
	bed.emus["site2"].Stop()
	res, err := bed.hook(ctx, j, false)
	if rerr := bed.emus["site2"].Restart(); rerr != nil {
		t.Fatalf("restart site2's SSH daemon: %v", rerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res[0].code == 0 {
		t.Fatalf("the first node's prologue succeeded with site2's switch down: %s", res[0].out)
	}
	last := strings.Split(strings.TrimSpace(res[0].out), "\n")
	t.Logf("with site2's switch down, the prologue on %s exited %d: %s", res[0].host, res[0].code, last[len(last)-1])
	bed.wantClean(t, ctx)
	// A network fault requeues the job (Torque exit 2); retries inside one
	// prologue run never count towards aborting it.
	if res[0].code != 2 {
		t.Fatalf("prologue exit %d, want 2 (requeue)", res[0].code)
	}
	c := startCluster(t, ctx, j, "sd")
	if failed := meshPing(ctx, c.guests); len(failed) > 0 {
		t.Errorf("after the switch came back: %v", failed)
	}
	c.stop(t, ctx, true)
	bed.wantClean(t, ctx)
}
