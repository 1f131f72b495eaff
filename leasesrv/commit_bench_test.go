package leasesrv_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

// These benchmarks print their results as lines that scripts/bench.sh
// collects (bench/report):
//
//	BENCH name=value           one figure
//	SERIES name x median min max   one point of a scaling curve (ms)
//
//	go test -run '^$' -bench 'CommitSwitches|SetupHosts|AllocOccupancy' -benchtime 1x ./leasesrv/

// benchDelay is added by every emulated switch to every round trip.
const benchDelay = 20 * time.Millisecond

const benchLease = `
[server]
listen = "127.0.0.1:0"
switch_timeout = "30s"
[lease]
default_ttl = "1h"
max_ttl = "24h"
min_ttl = "1m"
hold_timeout = "2m"
commit_timeout = "60s"
quarantine = "1ms"
history_retention = "1h"
[[tokens]]
name = "admin"
secret = "admin-secret-0123456789"
role = "admin"
`

// switchFabric starts n emulated Cisco IOS switches with ports
// Gi1/0/1..ports and returns them with the config lines that name them
// (site given per switch by site(i)), uplink Gi1/0/<ports>, delay added to
// every round trip.
func switchFabric(b *testing.B, n, ports int, delay time.Duration, site func(i int) string) ([]*sshemu.Emulator, string) {
	b.Helper()
	names := make([]string, ports)
	for i := range names {
		names[i] = fmt.Sprintf("Gi1/0/%d", i+1)
	}
	emus := make([]*sshemu.Emulator, n)
	for i := range emus {
		e, err := sshemu.Start(sshemu.Config{Dialect: "cisco-ios", Hostname: fmt.Sprintf("sw%d", i), Ports: names, Delay: delay})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(e.Close)
		emus[i] = e
	}
	kh := filepath.Join(b.TempDir(), "known_hosts")
	if err := writeKnownHosts(kh, emus...); err != nil {
		b.Fatal(err)
	}
	var cfg strings.Builder
	for i, e := range emus {
		fmt.Fprintf(&cfg, "[switches.sw%d]\nsite = %q\ndriver = \"ssh\"\ndialect = \"cisco-ios\"\naddress = %q\nusername = %q\npassword = %q\nknown_hosts = %q\nuplinks = [%q]\n",
			i, site(i), e.Addr(), e.User(), e.Password(), kh, names[ports-1])
	}
	return emus, cfg.String()
}

// timedSetup creates a lease over hosts, then times its commit (until
// active) and, when withCreate, the create too. The lease is released and
// the release waited for off the clock.
func timedSetup(b *testing.B, c *client.Client, job string, hosts []string, withCreate bool) time.Duration {
	b.Helper()
	ctx := context.Background()
	t0 := time.Now()
	l, _, err := c.Create(ctx, client.CreateRequest{Job: job, Owner: "bench", Hosts: hosts})
	if err != nil {
		b.Fatalf("create %s: %v", job, err)
	}
	t1 := time.Now()
	if _, err := c.WaitActive(ctx, job, l.Token); err != nil {
		b.Fatalf("commit %s: %v", job, err)
	}
	el := time.Since(t1)
	if withCreate {
		el = time.Since(t0)
	}
	if _, err := c.Release(ctx, job, l.Token); err != nil {
		b.Fatalf("release %s: %v", job, err)
	}
	for {
		got, err := c.Get(ctx, job)
		if err != nil {
			b.Fatalf("get %s: %v", job, err)
		}
		if got.State == api.StateReleased {
			break
		}
		if got.State == api.StateFailed {
			b.Fatalf("release %s failed: %s", job, got.Reason)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return el
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// spread is the median, minimum and maximum of xs.
func medianSpread(xs []float64) (med, lo, hi float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}

func printSeries(name string, x int, xs []float64) {
	med, lo, hi := medianSpread(xs)
	fmt.Printf("SERIES %s %d %.3f %.3f %.3f\n", name, x, med, lo, hi)
}

// BenchmarkCommitSwitches times the commit of one lease whose hosts sit on
// S = 1, 2, 4, 8, 16 switches (one site and one switch per host, 20 ms per
// round trip on every switch). The switches are configured in parallel, so
// the commit costs the slowest switch, not the sum: the ratio 16 vs 1 is
// taken round by round and its median reported. The same commits with no
// injected delay show the local CPU share (server, Redis and the 16
// emulators on the same cores), which is what makes 16 slower than 1.
func BenchmarkCommitSwitches(b *testing.B) {
	for range b.N {
		slow := commitTimes(b, benchDelay, []int{1, 2, 4, 8, 16}, 5)
		for _, s := range []int{1, 2, 4, 8, 16} {
			printSeries("commit_ms_vs_switches", s, slow[s])
		}
		fast := commitTimes(b, 0, []int{1, 16}, 5)
		ratio := func(t map[int][]float64) (med, lo, hi float64) {
			var rs []float64
			for r := range t[1] {
				rs = append(rs, t[16][r]/t[1][r])
			}
			return medianSpread(rs)
		}
		med, lo, hi := ratio(slow)
		m1, _, _ := medianSpread(slow[1])
		m16, _, _ := medianSpread(slow[16])
		z1, _, _ := medianSpread(fast[1])
		z16, _, _ := medianSpread(fast[16])
		fmt.Printf("BENCH commit_flat_ratio_16_vs_1=%.3f commit_flat_ratio_16_vs_1_min=%.3f commit_flat_ratio_16_vs_1_max=%.3f commit_flat_ratio_16_vs_1_n=%d commit_1_switch_ms=%.1f commit_16_switches_ms=%.1f commit_1_switch_nodelay_ms=%.1f commit_16_switches_nodelay_ms=%.1f\n",
			med, lo, hi, len(slow[1]), m1, m16, z1, z16)
		b.ReportMetric(med, "commit_flat_ratio_16_vs_1")
	}
}

// commitTimes runs rounds of commits over the first S of 16 switches for
// each S in sizes and returns the times in ms, by S, in round order.
func commitTimes(b *testing.B, delay time.Duration, sizes []int, rounds int) map[int][]float64 {
	const maxS = 16
	_, sw := switchFabric(b, maxS, 48, delay, func(i int) string { return fmt.Sprintf("s%d", i) })
	var cfg strings.Builder
	cfg.WriteString(benchLease)
	for i := range maxS {
		fmt.Fprintf(&cfg, "[sites.s%d]\nvlans = [\"100-3000\"]\n[hosts.h%d]\nsite = \"s%d\"\nswitch = \"sw%d\"\nport = \"Gi1/0/1\"\n", i, i, i, i)
	}
	cfg.WriteString(sw)
	srv := leasetest.Start(b, leasetest.Options{Config: cfg.String(), RealClock: true})
	c := srv.Client(leasetest.AdminToken)
	c.PollInterval = 2 * time.Millisecond
	hosts := make([]string, maxS)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("h%d", i)
	}
	timedSetup(b, c, "warm", hosts, false) // first sessions, first reads
	times := map[int][]float64{}
	for r := range rounds {
		for _, s := range sizes {
			times[s] = append(times[s], millis(timedSetup(b, c, fmt.Sprintf("c%d-%d", r, s), hosts[:s], false)))
		}
	}
	return times
}

// BenchmarkSetupHosts times cluster set-up (create, then commit until
// active) for N = 1..256 hosts spread over four switches of one site, 20 ms
// per round trip. Every lease touches the four switches (their uplinks), so
// only the number of ports changes with N.
func BenchmarkSetupHosts(b *testing.B) {
	const switches, perSwitch, rounds = 4, 64, 3
	sizes := []int{1, 4, 16, 64, 256}
	for range b.N {
		_, sw := switchFabric(b, switches, perSwitch+1, benchDelay, func(int) string { return "a" })
		var cfg strings.Builder
		cfg.WriteString(benchLease)
		cfg.WriteString("[sites.a]\nvlans = [\"100-3000\"]\n")
		hosts := make([]string, switches*perSwitch)
		for i := range hosts {
			hosts[i] = fmt.Sprintf("n%03d", i)
			fmt.Fprintf(&cfg, "[hosts.%s]\nsite = \"a\"\nswitch = \"sw%d\"\nport = \"Gi1/0/%d\"\n", hosts[i], i%switches, i/switches+1)
		}
		cfg.WriteString(sw)
		srv := leasetest.Start(b, leasetest.Options{Config: cfg.String(), RealClock: true})
		c := srv.Client(leasetest.AdminToken)
		c.PollInterval = 2 * time.Millisecond
		timedSetup(b, c, "warm", hosts[:switches], true)
		times := map[int][]float64{}
		for r := range rounds {
			for _, n := range sizes {
				times[n] = append(times[n], millis(timedSetup(b, c, fmt.Sprintf("h%d-%d", r, n), hosts[:n], true)))
			}
		}
		for _, n := range sizes {
			printSeries("setup_ms_vs_hosts", n, times[n])
		}
		m1, _, _ := medianSpread(times[1])
		m256, _, _ := medianSpread(times[256])
		fmt.Printf("BENCH setup_1_host_ms=%.1f setup_256_hosts_ms=%.1f\n", m1, m256)
		b.ReportMetric(m256/m1, "setup_256_vs_1_ratio")
	}
}

// BenchmarkAllocOccupancy times one allocation (the create script) in a
// 4093-VLAN pool filled to 0..99 %: batches of allocations at each level,
// each released at once; median and spread over the batches.
func BenchmarkAllocOccupancy(b *testing.B) {
	const pool, batches, perBatch = 4093, 5, 100
	levels := []int{0, 25, 50, 75, 90, 99}
	for range b.N {
		srv := leasetest.Start(b, leasetest.Options{Config: benchConfig, RealClock: true})
		ctx := context.Background()
		st := srv.Svc.Store()
		filled := 0
		for _, pct := range levels {
			for ; filled < pool*pct/100; filled++ {
				if _, _, err := st.Create(ctx, store.Grant{Job: fmt.Sprintf("fill-%d", filled), Hosts: []string{"ha"}, Sites: []string{"a"}, TTL: time.Hour}); err != nil {
					b.Fatal(err)
				}
			}
			var per []float64
			for k := range batches {
				var spent time.Duration
				for i := range perBatch {
					job := fmt.Sprintf("occ%d-%d-%d", pct, k, i)
					t0 := time.Now()
					l, _, err := st.Create(ctx, store.Grant{Job: job, Hosts: []string{"ha"}, Sites: []string{"a"}, TTL: time.Hour})
					spent += time.Since(t0)
					if err != nil {
						b.Fatal(err)
					}
					if _, _, err := st.BeginRelease(ctx, store.Release{Job: job, Token: l.Token, Reason: "released", Actor: "bench"}); err != nil {
						b.Fatal(err)
					}
				}
				per = append(per, float64(spent.Nanoseconds())/1e6/perBatch)
			}
			printSeries("alloc_ms_vs_occupancy_pct", pct, per)
		}
	}
}
