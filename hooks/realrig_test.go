//go:build slurmtest || torquetest || openpbstest

// What the real-manager tests (Slurm, Torque, OpenPBS) share: a real
// leasesrv with its own redis-server, snmpsimd agents as the switches, the
// hooks' configuration, and the waits and checks on leases and switches.

package hooks

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/hooks/gate"
	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/internal/snmpsim"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/snmp"
)

const (
	schedSecret = "scheduler-secret-0123456789"
	// rigGrace is the lease's grace after the walltime, on the server and
	// in the hooks' [lease]: short, so that a walltime case sees its lease
	// expire soon.
	rigGrace = "4s"
	// rigMaxStarts is max_failed_starts, on the server and in the hooks.
	rigMaxStarts = 4
)

// rig is the lease server and the switches of one real-manager test.
type rig struct {
	work string // under /var/tmp, so that daemons and job users reach it
	srv  *leaseServer
	sw   switchdrv.Driver // sw1, where every compute host's trunk port is
	// ports maps each compute host to its port on sw1.
	ports map[string]string
	// flaky and slow stand between the lease server and the switches of
	// the services "flaky" and "slow": one drops SNMP packets on demand,
	// the other delays them (a commit that takes seconds).
	flaky, slow *udpProxy
	cfg         string // the hooks' configuration file, written by the test
}

// rigHost is a compute host of the test: its scheduler name, its aliases
// and its port on sw1.
type rigHost struct {
	name    string
	aliases []string
	port    string
}

// newRig starts Redis, three snmpsimd agents and leasesrv in a new
// directory under /var/tmp (daemons and job users reach it); the token is a
// node token bound to the hosts (role "node") or a scheduler token.
func newRig(t *testing.T, prefix, role string, hosts []rigHost) *rig {
	work, err := os.MkdirTemp("/var/tmp", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(work)
		} else {
			t.Logf("work directory kept: %s", work)
		}
	})
	return newRigIn(t, work, role, hosts)
}

// forgetGateCaches removes the decisions the real managers' hooks left in
// the gate's cache for configurations under work.
func forgetGateCaches(work string) {
	caches, _ := filepath.Glob(filepath.Join(gate.DefaultCacheDir, "hooks-*"))
	for _, c := range caches {
		if b, err := os.ReadFile(c); err == nil && strings.Contains(string(b), "\npath "+work+"/") {
			os.Remove(c)
		}
	}
}

// newRigIn is newRig in a directory the caller made.
func newRigIn(t *testing.T, work, role string, hosts []rigHost) *rig {
	r := &rig{work: work, ports: map[string]string{}}
	t.Cleanup(func() { forgetGateCaches(work) })
	var err error
	os.Chmod(r.work, 0o755)
	os.MkdirAll(r.outDir(), 0o755)
	os.Chmod(r.outDir(), os.ModeSticky|0o777)

	agents := make([]*snmpsim.Agent, 3)
	for i := range agents {
		agents[i] = snmpsim.Start(t, snmpsim.Options{Recording: snmpsim.Arista})
	}
	sw := &config.Switch{Driver: "snmp", Address: agents[0].Addr,
		Settings: &snmp.Config{Community: config.NewSecret(agents[0].Community)}}
	if r.sw, err = switchdrv.Open(sw, switchdrv.Options{Name: "sw1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.sw.Close() })
	r.flaky = startUDPProxy(t, agents[1].Addr)
	r.slow = startUDPProxy(t, agents[2].Addr)
	r.slow.delay.Store(int64(time.Second))

	red := redistest.Start(t)
	port := redistest.FreePort(t)
	var b strings.Builder
	fmt.Fprintf(&b, `[server]
listen = "127.0.0.1:%d"
switch_timeout = "2s"
[lease]
min_ttl = "1s"
grace = %q
commit_timeout = "20s"
quarantine = "1s"
max_failed_starts = %d
[sites.brno]
vlans = ["200-229"]
[switches.sw1]
site = "brno"
driver = "snmp"
address = %q
version = "2c"
community = %q
[switches.flaky]
site = "brno"
driver = "snmp"
address = %q
version = "2c"
community = %q
timeout = "1s"
[switches.slow]
site = "brno"
driver = "snmp"
address = %q
version = "2c"
community = %q
timeout = "10s"
[services.flaky]
site = "brno"
switch = "flaky"
ports = ["Ethernet7"]
[services.slow]
site = "brno"
switch = "slow"
ports = ["Ethernet8"]
`, port, rigGrace, rigMaxStarts, sw.Address, agents[0].Community, r.flaky.Addr(), agents[1].Community, r.slow.Addr(), agents[2].Community)
	var names []string
	for _, h := range hosts {
		r.ports[h.name] = h.port
		names = append(names, h.name)
		fmt.Fprintf(&b, "[hosts.%q]\nsite = \"brno\"\nswitch = \"sw1\"\nports = [%q]\n", h.name, h.port)
		if len(h.aliases) > 0 {
			fmt.Fprintf(&b, "aliases = [%q]\n", strings.Join(h.aliases, `", "`))
		}
	}
	fmt.Fprintf(&b, "[[tokens]]\nname = \"hooks\"\nsecret = %q\nrole = %q\n", schedSecret, role)
	if role == "node" {
		fmt.Fprintf(&b, "hosts = [\"%s\"]\n", strings.Join(names, `", "`))
	}
	fmt.Fprintf(&b, "[[tokens]]\nname = \"admin\"\nsecret = %q\nrole = \"admin\"\n", adminSecret)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	r.srv = &leaseServer{URL: url, redis: red.URL, cfg: filepath.Join(r.work, "server.toml"), Admin: client.New(url, adminSecret)}
	os.WriteFile(r.srv.cfg, []byte(b.String()), 0o600)
	r.srv.start(t)
	t.Cleanup(r.srv.stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- leasesrv\n%s", tail(r.srv.log.String(), 40))
		}
	})
	return r
}

func (r *rig) outDir() string { return filepath.Join(r.work, "out") }

// hooksConfig is the hooks' [hooks] and [lease] tables, for a spool there.
func (r *rig) hooksConfig(spool string, queues ...string) string {
	q := ""
	if len(queues) > 0 {
		q = fmt.Sprintf("queues = [\"%s\"]\n", strings.Join(queues, `", "`))
	}
	return fmt.Sprintf("[hooks]\nserver = %q\ntoken = %q\n%sbudget = \"4s\"\nspool_dir = %q\nmax_failed_starts = %d\n[lease]\nmin_ttl = \"1s\"\ngrace = %q\n",
		r.srv.URL, schedSecret, q, spool, rigMaxStarts, rigGrace)
}

// udpProxy forwards UDP datagrams to one backend and its answers back,
// optionally dropping or delaying them: a switch that stops answering, or
// answers slowly, in front of a real SNMP agent.
type udpProxy struct {
	conn    *net.UDPConn
	backend *net.UDPAddr
	drop    atomic.Bool
	delay   atomic.Int64 // time.Duration
}

func startUDPProxy(t *testing.T, backend string) *udpProxy {
	b, err := net.ResolveUDPAddr("udp", backend)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &udpProxy{conn: c, backend: b}
	t.Cleanup(func() { c.Close() })
	go p.serve()
	return p
}

func (p *udpProxy) Addr() string { return p.conn.LocalAddr().String() }

func (p *udpProxy) serve() {
	buf := make([]byte, 65536)
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if p.drop.Load() {
			continue
		}
		pkt := slices.Clone(buf[:n])
		go func() {
			time.Sleep(time.Duration(p.delay.Load()))
			up, err := net.DialUDP("udp", nil, p.backend)
			if err != nil {
				return
			}
			defer up.Close()
			up.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := up.Write(pkt); err != nil {
				return
			}
			ans := make([]byte, 65536)
			n, err := up.Read(ans)
			if err != nil || p.drop.Load() {
				return
			}
			p.conn.WriteToUDP(ans[:n], from)
		}()
	}
}

// readmeBlocks returns the indented code blocks of hooks/README.md under
// every heading written exactly so (e.g. "### Torque"), each up to the next
// heading:
// the tests install the hooks from the lines an administrator reads.
func readmeBlocks(t *testing.T, heading string) [][]string {
	t.Helper()
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks [][]string
	var cur []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") {
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur = nil
			}
			in = l == heading
			continue
		}
		if !in {
			continue
		}
		if strings.HasPrefix(l, "    ") {
			cur = append(cur, strings.TrimPrefix(l, "    "))
			continue
		}
		if len(cur) > 0 && strings.TrimSpace(l) == "" {
			continue // a blank line inside a block
		}
		if len(cur) > 0 {
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	if len(blocks) == 0 {
		t.Fatalf("hooks/README.md: no code block under %q", heading)
	}
	return blocks
}

// relocate rewrites an administrator's line for this test: the system
// paths become the test's own.
func relocate(line string, paths map[string]string) string {
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	// Longest first: /var/spool/virtcloud/controller before /var/spool/virtcloud.
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	for _, k := range keys {
		line = strings.ReplaceAll(line, k, paths[k])
	}
	return line
}

// shell runs one line of the README as root in the repository's root.
func shell(t *testing.T, line string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-ec", line)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	return string(out)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitFor polls until ok or the deadline, which only bounds a failure.
func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (r *rig) lease(id string) (*client.Lease, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.srv.Admin.Get(ctx, id)
}

func (r *rig) history(t *testing.T, id string) []api.Event {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := r.srv.Admin.History(ctx, id)
	if err != nil {
		t.Fatalf("history of %s: %v", id, err)
	}
	return h
}

func (r *rig) waitLease(t *testing.T, id string, limit time.Duration, states ...api.State) *client.Lease {
	t.Helper()
	var l *client.Lease
	var err error
	deadline := time.Now().Add(limit)
	for {
		l, err = r.lease(id)
		if err == nil && slices.Contains(states, l.State) {
			return l
		}
		if time.Now().After(deadline) {
			h, _ := r.srv.Admin.History(context.Background(), id)
			t.Fatalf("timed out waiting for lease of job %s %v: %+v %v\nhistory: %+v", id, states, l, err, h)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// onSwitch reports whether the VLAN is tagged on a host's port of sw1.
func (r *rig) onSwitch(t *testing.T, vid int, host string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, found, err := r.sw.VLAN(ctx, vid)
	if err != nil {
		t.Fatalf("read VLAN %d from the switch: %v", vid, err)
	}
	port, ok := r.ports[host]
	if !ok {
		t.Fatalf("host %q is none of the test's %v", host, r.ports)
	}
	return found && slices.Contains(v.Tagged, port)
}

// activeOn waits until the job's lease is active, covers exactly the
// hosts and has its VLAN on each host's port.
func (r *rig) activeOn(t *testing.T, id string, hosts ...string) *client.Lease {
	t.Helper()
	l := r.waitLease(t, id, 60*time.Second, api.StateActive)
	if !sameSet(l.Hosts, hosts) {
		t.Fatalf("job %s: lease hosts %v, want %v", id, l.Hosts, hosts)
	}
	for _, h := range hosts {
		if !r.onSwitch(t, l.VLAN, h) {
			t.Fatalf("job %s: VLAN %d is not on %s's port", id, l.VLAN, h)
		}
	}
	return l
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// released waits until the lease is released and its VLAN is gone from
// every port it had, unless a lease granted since (the quarantine is short
// here) carries the same VLAN on that port.
func (r *rig) released(t *testing.T, id string, l *client.Lease) *client.Lease {
	t.Helper()
	end := r.waitLease(t, id, 90*time.Second, api.StateReleased)
	for _, h := range l.Hosts {
		if r.onSwitch(t, l.VLAN, h) && !r.heldBy(t, id, l.VLAN, h) {
			t.Fatalf("job %s: VLAN %d still on %s's port after the release", id, l.VLAN, h)
		}
	}
	return end
}

// heldBy reports whether a live lease of another job holds the VLAN on the host.
func (r *rig) heldBy(t *testing.T, job string, vid int, host string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	leases, err := r.srv.Admin.List(ctx)
	if err != nil {
		t.Fatalf("list leases: %v", err)
	}
	for _, o := range leases {
		if o.Job != job && o.VLAN == vid && o.State.Live() && slices.Contains(o.Hosts, host) {
			return true
		}
	}
	return false
}

// count counts the events of one action in a lease's history: a lease is
// created once and ended once ("release" or the reaper's "expire").
func count(h []api.Event, actions ...string) int {
	n := 0
	for _, e := range h {
		if slices.Contains(actions, e.Action) {
			n++
		}
	}
	return n
}

// periodic runs vc-periodic as the timer (or exechost_periodic) would.
func periodic(t *testing.T, bin, cfg string, env ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "vc-periodic"))
	cmd.Env = append([]string{"VIRTCLOUD_CONFIG=" + cfg, "PATH=/usr/bin:/bin"}, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vc-periodic: %v\n%s", err, out)
	}
}
