package leasesrv_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/internal/snmpsim"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

// TestIsolationHistories builds random topologies (2-6 sites, 1-3 switches
// a site, one or two L2 cores; switches are emulated Cisco IOS and Junos
// CLIs and one real SNMP agent) and drives a real leasesrv process through
// random concurrent histories: single- and multi-site creates, commits,
// migrations adding and removing hosts across sites, releases, forced
// releases, expiry, a switch failing mid-change, the server killed and
// restarted. After every step, once nothing is in flux, the isolation
// checker reads the switches and proves that no L2 network holds two
// clusters, and the crash test's invariants hold. VIRTCLOUD_HISTORY_RUNS
// sets the number of histories (make soak: many), VIRTCLOUD_HISTORY_STEPS
// their length, VIRTCLOUD_HISTORY_SEED replays one.
func TestIsolationHistories(t *testing.T) {
	runs, steps := envInt("VIRTCLOUD_HISTORY_RUNS", 3), envInt("VIRTCLOUD_HISTORY_STEPS", 25)
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("VIRTCLOUD_HISTORY_SEED"), 10, 64); err == nil {
		seed = v
	}
	bin := filepath.Join(t.TempDir(), "leasesrv")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/virtcloud/virtcloud/cmd/leasesrv").CombinedOutput(); err != nil {
		t.Fatalf("build leasesrv: %v\n%s", err, out)
	}
	for run := range runs {
		s := seed + uint64(run)
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
			t.Logf("replay with VIRTCLOUD_HISTORY_SEED=%d VIRTCLOUD_HISTORY_RUNS=1", s)
			h := newHistory(t, bin, rand.New(rand.NewPCG(s, s)))
			for step := range steps {
				h.step(step)
				if t.Failed() {
					t.Fatalf("step %d broke isolation or an invariant; replay with VIRTCLOUD_HISTORY_SEED=%d VIRTCLOUD_HISTORY_RUNS=1", step, s)
				}
			}
			t.Logf("%d steps: %s", steps, h.tally())
		})
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// topoSwitch is one switch of a random topology.
type topoSwitch struct {
	name, site string
	emu        *sshemu.Emulator // nil for the SNMP agent
	hostPorts  []string
	uplink     string
}

// history is one random topology with its server and what the API confirmed.
type history struct {
	t        *testing.T
	rng      *rand.Rand
	bin      string
	cfgFile  string
	cfg      *config.Config
	redisURL string
	st       *store.Store
	fleet    *switchdrv.Fleet
	c        *client.Client
	proc     *exec.Cmd
	switches []*topoSwitch
	hosts    []string
	jobs     int

	mu        sync.Mutex
	confirmed map[string]bool // active per the API, and nobody ended it since
	ended     map[string]bool // a release, force or expiry may have ended it
	counts    map[string]int
}

func newHistory(t *testing.T, bin string, rng *rand.Rand) *history {
	h := &history{t: t, rng: rng, bin: bin, confirmed: map[string]bool{}, ended: map[string]bool{}, counts: map[string]int{}}
	listen := freeAddr(t)
	var b strings.Builder
	fmt.Fprintf(&b, `[server]
listen = %q
switch_timeout = "1s"
reap_interval = "200ms"
[lease]
default_ttl = "1h"
min_ttl = "1s"
hold_timeout = "5s"
commit_timeout = "1500ms"
quarantine = "300ms"
history_retention = "1h"
[[tokens]]
name = "admin"
secret = "admin-secret-0123456789"
role = "admin"
`, listen)
	nsites := 2 + rng.IntN(5)
	twoCores := rng.IntN(2) == 0
	snmpTaken := false
	kh := filepath.Join(t.TempDir(), "known_hosts")
	var khLines []string
	for s := range nsites {
		site := fmt.Sprintf("s%d", s)
		lo := 100 + rng.IntN(5)
		fmt.Fprintf(&b, "[sites.%s]\nvlans = [\"%d-%d\"]\n", site, lo, lo+7)
		if twoCores && s%2 == 1 {
			b.WriteString("core = \"east\"\n")
		}
		for w := range 1 + rng.IntN(3) {
			sw := &topoSwitch{name: fmt.Sprintf("%s-sw%d", site, w), site: site}
			switch {
			case !snmpTaken:
				snmpTaken = true
				ag := snmpsim.Start(t, snmpsim.Options{Recording: snmpsim.Arista})
				sw.hostPorts, sw.uplink = []string{"Ethernet3", "Ethernet4"}, "Ethernet48"
				fmt.Fprintf(&b, "[switches.%s]\nsite = %q\ndriver = \"snmp\"\naddress = %q\ncommunity = %q\nuplinks = [%q]\n", sw.name, site, ag.Addr, ag.Community, sw.uplink)
			default:
				dialect, prefix, uplink := "cisco-ios", "Gi1/0/", "Gi1/0/48"
				if rng.IntN(2) == 0 {
					dialect, prefix, uplink = "junos", "ge-0/0/", "ge-0/0/47"
				}
				emu, err := sshemu.Start(sshemu.Config{Dialect: dialect, Hostname: sw.name})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(emu.Close)
				khLines = append(khLines, emu.KnownHostsLine())
				sw.emu, sw.hostPorts, sw.uplink = emu, []string{prefix + "3", prefix + "4"}, uplink
				fmt.Fprintf(&b, "[switches.%s]\nsite = %q\ndriver = \"ssh\"\ndialect = %q\naddress = %q\nusername = %q\npassword = %q\nknown_hosts = %q\nuplinks = [%q]\n",
					sw.name, site, dialect, emu.Addr(), emu.User(), emu.Password(), kh, uplink)
			}
			h.switches = append(h.switches, sw)
			for i, port := range sw.hostPorts {
				host := fmt.Sprintf("%s-h%d", sw.name, i)
				h.hosts = append(h.hosts, host)
				fmt.Fprintf(&b, "[hosts.%s]\nsite = %q\nswitch = %q\nport = %q\n", host, site, sw.name, port)
			}
		}
	}
	if err := os.WriteFile(kh, []byte(strings.Join(khLines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.cfgFile = filepath.Join(t.TempDir(), "virtcloud.toml")
	if err := os.WriteFile(h.cfgFile, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if h.cfg, err = config.Load(h.cfgFile); err != nil {
		t.Fatal(err)
	}
	t.Logf("topology: %d sites, %d switches, %d hosts, cores %v", nsites, len(h.switches), len(h.hosts), h.cfg.Cores())
	rs := redistest.Start(t)
	h.redisURL = rs.URL
	rdb, err := store.Open(config.Redis{URL: rs.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	h.st = store.New(rdb, store.PolicyOf(h.cfg))
	h.fleet = switchdrv.NewFleet(h.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(h.fleet.Close)
	h.c = client.New("http://"+listen, "admin-secret-0123456789")
	h.c.PollInterval = 20 * time.Millisecond
	h.start()
	return h
}

func (h *history) start() {
	h.proc = startServer(h.t, h.bin, h.cfgFile, h.redisURL, nil)
	waitHealthy(h.t, h.c)
}

func (h *history) tally() string {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range h.counts {
			if !yield(k) {
				return
			}
		}
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, h.counts[k]))
	}
	return strings.Join(parts, ", ")
}

func (h *history) count(what string) {
	h.mu.Lock()
	h.counts[what]++
	h.mu.Unlock()
}

// step runs one to three operations at once, sometimes with a switch failing
// or the server killed under them, then waits until nothing is in flux and
// checks.
func (h *history) step(n int) {
	ops := 1 + h.rng.IntN(3)
	var failing *topoSwitch
	if h.rng.IntN(6) == 0 {
		if sw := h.switches[h.rng.IntN(len(h.switches))]; sw.emu != nil {
			failing = sw
			sw.emu.FailPort(sw.hostPorts[h.rng.IntN(len(sw.hostPorts))])
			h.count("switch failing")
		}
	}
	kill := h.rng.IntN(8) == 0
	var wg sync.WaitGroup
	for range ops {
		op, seed := h.rng.IntN(10), h.rng.Uint64()
		h.jobs++
		job := fmt.Sprintf("j%d.pbs", h.jobs)
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.do(op, job, rand.New(rand.NewPCG(seed, seed)))
		}()
	}
	if kill {
		time.Sleep(time.Duration(h.rng.IntN(300)) * time.Millisecond)
		h.proc.Process.Signal(syscall.SIGKILL)
		h.proc.Wait()
		h.count("server killed")
	}
	wg.Wait()
	if failing != nil {
		failing.emu.FailPort("")
	}
	if kill {
		h.start()
	}
	waitQuiet(h.t, h.st, 30*time.Second)
	h.mu.Lock()
	defer h.mu.Unlock()
	checkInvariants(h.t, h.cfg, h.st, h.fleet, h.confirmed)
	if h.t.Failed() {
		h.t.Logf("step %d: leases %s", n, h.describe())
	}
}

func (h *history) describe() string {
	ls, _ := h.st.List(context.Background())
	var parts []string
	for _, l := range ls {
		if l.State.Live() {
			parts = append(parts, fmt.Sprintf("%s %s vlan %d hosts %v core %q", l.Job, l.State, l.VLAN, l.Hosts, l.Core))
		}
	}
	return strings.Join(parts, "; ")
}

// pickHosts chooses a lease's hosts: often all at one site (on one switch
// or several), else across sites, now and then across cores (refused).
func (h *history) pickHosts(rng *rand.Rand) []string {
	n := 1 + rng.IntN(3)
	pool := h.hosts
	if rng.IntN(2) == 0 {
		site := h.cfg.Hosts[h.hosts[rng.IntN(len(h.hosts))]].Site
		pool = slices.DeleteFunc(slices.Clone(h.hosts), func(x string) bool { return h.cfg.Hosts[x].Site != site })
	}
	var out []string
	for range n {
		out = append(out, pool[rng.IntN(len(pool))])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (h *history) live(rng *rand.Rand) *api.Lease {
	ls, err := h.c.List(context.Background())
	if err != nil {
		return nil
	}
	ls = slices.DeleteFunc(ls, func(l client.Lease) bool { return l.State != api.StateActive })
	if len(ls) == 0 {
		return nil
	}
	l := ls[rng.IntN(len(ls))]
	return &l
}

// do runs one operation. Errors the API may rightly answer (a pool
// exhausted, a switch failing, the server killed) are part of the history;
// only what the checks find afterwards is a failure.
func (h *history) do(op int, job string, rng *rand.Rand) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	switch {
	case op < 4: // create and commit; sometimes with a TTL short enough to expire
		req := client.CreateRequest{Job: job, Hosts: h.pickHosts(rng)}
		if rng.IntN(4) == 0 {
			req.TTLSeconds = 1 + int64(rng.IntN(3))
			h.mark(job, "ended")
		}
		l, _, err := h.c.Create(ctx, req)
		h.result("create", err)
		if err != nil || rng.IntN(8) == 0 {
			return // left held: the hold timeout aborts it
		}
		l, err = h.c.WaitActive(ctx, job, l.Token)
		h.result("commit", err)
		if err == nil && l.State == api.StateActive {
			h.mark(job, "confirmed")
		}
	case op < 7: // migration: add and/or remove hosts, across sites
		l := h.live(rng)
		if l == nil {
			return
		}
		var add, remove []string
		if rng.IntN(3) != 0 {
			add = []string{h.hosts[rng.IntN(len(h.hosts))]}
		}
		if len(l.Hosts) > 1 && (add == nil || rng.IntN(2) == 0) {
			remove = []string{l.Hosts[rng.IntN(len(l.Hosts))]}
		}
		if add == nil && remove == nil {
			add = []string{h.hosts[rng.IntN(len(h.hosts))]}
		}
		_, err := h.c.Patch(ctx, l.Job, l.Token, add, remove)
		h.result("patch", err)
	case op < 9: // release
		l := h.live(rng)
		if l == nil {
			return
		}
		h.mark(l.Job, "ended")
		_, err := h.c.Release(ctx, l.Job, l.Token)
		h.result("release", err)
	default: // forced release
		l := h.live(rng)
		if l == nil {
			return
		}
		h.mark(l.Job, "ended")
		_, err := h.c.ForceRelease(ctx, l.Job)
		h.result("force", err)
	}
}

func (h *history) mark(job, what string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch what {
	case "ended":
		h.ended[job] = true
		delete(h.confirmed, job)
	case "confirmed":
		if !h.ended[job] {
			h.confirmed[job] = true
		}
	}
}

func (h *history) result(op string, err error) {
	if err != nil {
		op += " refused (" + client.Code(err) + ")"
	}
	h.count(op)
}
