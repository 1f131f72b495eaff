package leasesrv_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/isolation"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/leasesrv/plan"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// The crash test kills a real leasesrv process, built with failpoints, at
// named points and at random moments of apply and teardown, restarts it, and
// checks after every run that no VLAN belongs to two leases, every switch
// holds exactly what the active leases explain, and no confirmed lease is
// lost. VIRTCLOUD_CRASH_RUNS sets the number of runs (make soak: 50);
// VIRTCLOUD_CRASH_SEED replays one.
func TestCrashRecovery(t *testing.T) {
	runs := 10
	if v, err := strconv.Atoi(os.Getenv("VIRTCLOUD_CRASH_RUNS")); err == nil {
		runs = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("VIRTCLOUD_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("crash test seed %d (replay with VIRTCLOUD_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	bin := filepath.Join(t.TempDir(), "leasesrv")
	build := exec.Command("go", "build", "-tags", "failpoints", "-o", bin, "github.com/virtcloud/virtcloud/cmd/leasesrv")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build leasesrv with failpoints: %v\n%s", err, out)
	}
	f, cfgText := audittest.Peers(t)
	cfgText = strings.Replace(cfgText, `commit_timeout = "8s"`, `commit_timeout = "1500ms"`, 1)
	// The three sites share only 20 VLANs: a run's VLAN must come back
	// soon, also from a lease a kill left held, or many runs drain the pool.
	cfgText = strings.Replace(cfgText, `quarantine = "10m"`, `quarantine = "100ms"`, 1)
	cfgText = strings.Replace(cfgText, `hold_timeout = "2m"`, `hold_timeout = "5s"`, 1)
	cfgText = strings.Replace(cfgText, `switch_timeout = "3s"`, `switch_timeout = "1s"`+"\nreap_interval = \"200ms\"", 1)
	listen := freeAddr(t)
	cfgText = strings.Replace(cfgText, `listen = "127.0.0.1:0"`, fmt.Sprintf("listen = %q", listen), 1)
	cfgFile := filepath.Join(t.TempDir(), "virtcloud.toml")
	os.WriteFile(cfgFile, []byte(cfgText), 0o600)
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	rs := redistest.Start(t)
	rdb, _ := store.Open(config.Redis{URL: rs.URL})
	defer rdb.Close()
	st := store.New(rdb, store.PolicyOf(cfg))
	f.Fleet = switchdrv.NewFleet(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer f.Fleet.Close()
	c := client.New("http://"+listen, leasetest.AdminToken)
	c.PollInterval = 20 * time.Millisecond

	points := []string{"apply.after-journal", "apply.after-step-1", "apply.after-step-2", "apply.after-step-3",
		"teardown.after-journal", "teardown.after-step-1", "teardown.after-step-2", "random"}
	hosts := []string{"skirit82-1", "skurut9-1", "konos23-1"}
	confirmed := map[string]bool{} // job -> the API confirmed it active (and nobody released it)
	for run := range runs {
		point := points[rng.IntN(len(points))]
		job := fmt.Sprintf("crash%d.pbs", run)
		teardown := strings.HasPrefix(point, "teardown") || (point == "random" && rng.IntN(2) == 0)
		var victim string
		for j := range confirmed {
			victim = j
		}
		if teardown && victim == "" {
			// Give the teardown something to tear down, on a healthy server.
			victim = "victim" + job
			p := startServer(t, bin, cfgFile, rs.URL, nil)
			waitHealthy(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			l, _, err := c.Create(ctx, client.CreateRequest{Job: victim, Hosts: hosts})
			if err == nil {
				_, err = c.WaitActive(ctx, victim, l.Token)
			}
			cancel()
			if err != nil {
				t.Fatalf("run %d: set up a lease to tear down: %v", run, err)
			}
			confirmed[victim] = true
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
		t.Logf("run %d: failpoint %s, teardown %v", run, point, teardown)
		env := []string{}
		if point != "random" {
			env = append(env, "VIRTCLOUD_FAILPOINT="+point)
		}
		p := startServer(t, bin, cfgFile, rs.URL, env)
		waitHealthy(t, c)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if point == "random" {
			// This process, not whatever p holds by then: the restart
			// below may come first.
			doomed, after := p.Process, time.Duration(rng.IntN(150))*time.Millisecond
			go func() {
				time.Sleep(after)
				doomed.Signal(syscall.SIGKILL)
			}()
		}
		if teardown {
			if _, err := c.ForceRelease(ctx, victim); err == nil {
				delete(confirmed, victim)
			}
			delete(confirmed, victim) // released or not, nobody relies on it now
		} else {
			if l, _, err := c.Create(ctx, client.CreateRequest{Job: job, Hosts: hosts}); err == nil {
				if l, err = c.WaitActive(ctx, job, l.Token); err == nil && l.State == api.StateActive {
					confirmed[job] = true
				}
			}
		}
		cancel()
		p.Process.Signal(syscall.SIGKILL)
		p.Wait()

		// Restart without failpoints and let recovery finish.
		p = startServer(t, bin, cfgFile, rs.URL, nil)
		waitHealthy(t, c)
		waitQuiet(t, st, 30*time.Second)
		checkInvariants(t, cfg, st, f.Fleet, confirmed)
		p.Process.Signal(syscall.SIGTERM)
		p.Wait()
		if t.Failed() {
			t.Fatalf("run %d (failpoint %s) broke an invariant; replay with VIRTCLOUD_CRASH_SEED=%d", run, point, seed)
		}
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startServer(t *testing.T, bin, cfg, redisURL string, env []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfg, "--redis", redisURL)
	cmd.Env = append(os.Environ(), env...)
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func waitHealthy(t *testing.T, c *client.Client) {
	t.Helper()
	for range 200 {
		if _, err := c.Pools(context.Background()); err == nil {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("leasesrv did not come up")
}

// waitQuiet waits until no lease is in flux, no migration unfinished and no
// journal open.
func waitQuiet(t *testing.T, st *store.Store, limit time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	for {
		ls, err := st.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		busy := slices.ContainsFunc(ls, func(l api.Lease) bool {
			return l.State == api.StateCommitting || l.State == api.StateReleasing
		})
		js, _ := st.Journals(ctx)
		moving, _ := st.Client().ZCard(ctx, store.Prefix+"moving").Result()
		if !busy && len(js) == 0 && moving == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not quiet after %s: journals %v, leases %+v", limit, js, ls)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkInvariants: no two live leases hold one VLAN where their L2 reach
// overlaps (a site, or a core); every switch carries, in the managed
// ranges, exactly what the active leases' plans explain; the isolation
// checker, reading the switches, finds every cluster on an L2 network of its
// own; every lease the API confirmed active still is.
func checkInvariants(t *testing.T, cfg *config.Config, st *store.Store, fleet *switchdrv.Fleet, confirmed map[string]bool) {
	t.Helper()
	ls, tables := snapshot(t, cfg, st, fleet)
	owner := map[string]string{}
	want := map[string]map[int][]string{} // switch -> vlan -> ports
	for _, l := range ls {
		if !l.State.Live() {
			if confirmed[l.Job] {
				t.Errorf("lease %s was confirmed active and is now %s (%s)", l.Job, l.State, l.Reason)
			}
			continue
		}
		c := l.Carried()
		places := slices.Clone(c.Sites)
		if c.Core != "" {
			places = append(places, "core "+c.Core)
		}
		for _, place := range places {
			k := fmt.Sprintf("%s/%d", place, l.VLAN)
			if other, dup := owner[k]; dup {
				t.Errorf("VLAN %d at %s belongs to %s and %s", l.VLAN, place, other, l.Job)
			}
			owner[k] = l.Job
		}
		if l.State != api.StateActive {
			// A held lease reserves its VLAN but has nothing on a device
			// (the kill came between create and commit).
			continue
		}
		p, _ := plan.For(cfg, c)
		for sw, ports := range p {
			if want[sw] == nil {
				want[sw] = map[int][]string{}
			}
			want[sw][l.VLAN] = ports
		}
	}
	for job := range confirmed {
		if !slices.ContainsFunc(ls, func(l api.Lease) bool { return l.Job == job && l.State == api.StateActive }) {
			t.Errorf("confirmed lease %s is lost", job)
		}
	}
	for sw := range cfg.Switches {
		have := map[int][]string{}
		for _, v := range tables[sw] {
			ports := append(slices.Clone(v.Tagged), v.Untagged...)
			slices.Sort(ports)
			have[v.ID] = ports
		}
		if fmt.Sprint(have) != fmt.Sprint(orEmpty(want[sw])) {
			t.Errorf("switch %s carries %v; the active leases explain %v", sw, have, want[sw])
		}
	}
	for _, f := range isolation.Check(cfg, tables, ls) {
		t.Errorf("isolation: %s: %s", f.Problem, f.Detail)
	}
}

// snapshot reads the leases and every switch's managed VLANs at one moment:
// the leases again after the switches, and all of it again when a lease
// changed meanwhile (a short lease expiring under the check).
func snapshot(t *testing.T, cfg *config.Config, st *store.Store, fleet *switchdrv.Fleet) ([]api.Lease, isolation.Tables) {
	t.Helper()
	ctx := context.Background()
	for try := 1; ; try++ {
		before, err := st.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tables := isolation.Tables{}
		for sw := range cfg.Switches {
			d, err := fleet.Driver(sw)
			if err != nil {
				t.Fatal(err)
			}
			// A loaded machine may make an agent miss one deadline: read
			// again before calling the switch unreadable.
			vs, err := d.VLANs(ctx)
			for again := 1; err != nil && again < 3; again++ {
				vs, err = d.VLANs(ctx)
			}
			if err != nil {
				t.Fatalf("read %s: %v", sw, err)
			}
			tables[sw] = slices.DeleteFunc(vs, func(v switchdrv.VLAN) bool { return !fleet.Managed(sw, v.ID) })
		}
		after, err := st.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(before) == fmt.Sprint(after) {
			return after, tables
		}
		if try == 10 {
			t.Fatalf("the leases changed under every one of %d readings of the switches", try)
		}
		waitQuiet(t, st, 30*time.Second)
	}
}

func orEmpty(m map[int][]string) map[int][]string {
	if m == nil {
		return map[int][]string{}
	}
	return m
}
