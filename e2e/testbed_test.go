//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

// The testbed's fixed parts (see README.md for the picture).
const (
	nodeSecret  = "e2e-node-secret-0123456789"
	adminSecret = "e2e-admin-secret-0123456789"
	mgmtNet     = "10.255.0"
	serverAddr  = mgmtNet + ".254:7480"
	redisAddr   = "127.0.0.1:6390"
	poolVLANs   = "100-109"
	queue       = "vcluster"
)

var sites = []string{"site1", "site2", "site3"}

// host is one hypervisor host: a namespace whose eth0 is a trunk to port
// "h<N>" of its site switch and whose mgmt0 reaches the lease server.
type host struct {
	name, site, port string
	config, state    string
}

// testbed is everything started once per run and shared by the tests.
type testbed struct {
	dir, bin, torque string
	hosts            []*host
	byName           map[string]*host
	emus             map[string]*sshemu.Emulator // by site
	api              *client.Client
	procs            []*exec.Cmd
}

var bed *testbed

func TestMain(m *testing.M) {
	if h := os.Getenv("E2E_HELPER"); h != "" {
		os.Exit(helperMain(h, os.Args[1:]))
	}
	if os.Getenv("VIRTCLOUD_E2E") != "1" {
		fmt.Fprintln(os.Stderr, "e2e: these tests need root and a kernel with 802.1Q and VLAN-filtering bridges: scripts/e2e.sh runs them (here or in a VM) and sets VIRTCLOUD_E2E=1")
		os.Exit(1)
	}
	if os.Getenv(isolatedEnv) == "" {
		os.Exit(runIsolated())
	}
	if err := enterIsolated(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	start := time.Now()
	b, err := newTestbed(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: testbed:", err)
		if b != nil {
			b.close()
		}
		os.Exit(1)
	}
	fmt.Printf("e2e: testbed up in %s: 3 sites, 1 core, %d hosts, leasesrv on %s\n", time.Since(start).Round(time.Millisecond), len(b.hosts), serverAddr)
	bed = b
	code := m.Run()
	b.close()
	os.Exit(code)
}

// sh runs a command and returns its combined output; a failure carries it.
func sh(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// in runs a command inside network namespace ns.
func in(ctx context.Context, ns string, args ...string) (string, error) {
	return sh(ctx, append([]string{"ip", "netns", "exec", ns}, args...)...)
}

// script runs each line in order and stops at the first failure.
func script(ctx context.Context, lines ...[]string) error {
	for _, l := range lines {
		if _, err := sh(ctx, l...); err != nil {
			return err
		}
	}
	return nil
}

func words(s string) []string { return strings.Fields(s) }

// newNamespace makes a namespace with loopback up and IPv6 off (no router
// solicitations or DAD frames disturbing the packet counts).
func newNamespace(ctx context.Context, ns string) error {
	if _, err := sh(ctx, "ip", "netns", "add", ns); err != nil {
		return err
	}
	_, _ = in(ctx, ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6")
	_, err := in(ctx, ns, "ip", "link", "set", "lo", "up")
	return err
}

func newTestbed(ctx context.Context) (*testbed, error) {
	b := &testbed{bin: os.Getenv("VIRTCLOUD_BIN"), byName: map[string]*host{}, emus: map[string]*sshemu.Emulator{}}
	if b.bin == "" {
		return nil, errors.New("VIRTCLOUD_BIN is not set: the directory with vc-prologue, vc-dom0, leasesrv, ... (make build)")
	}
	for _, name := range []string{"leasesrv", "vcctl", "vc-dom0", "vc-prologue", "vc-epilogue", "vc-hook", "vc-periodic"} {
		if _, err := os.Stat(filepath.Join(b.bin, name)); err != nil {
			return nil, fmt.Errorf("binary %s: %w (run make build)", name, err)
		}
	}
	var err error
	if b.dir, err = os.MkdirTemp("", "vc-e2e-"); err != nil {
		return nil, err
	}
	if err := b.network(ctx); err != nil {
		return b, fmt.Errorf("network: %w", err)
	}
	if err := b.switches(); err != nil {
		return b, fmt.Errorf("switch emulators: %w", err)
	}
	if err := b.services(ctx); err != nil {
		return b, err
	}
	if err := b.torqueNode(); err != nil {
		return b, fmt.Errorf("torque: %w", err)
	}
	return b, nil
}

// network builds the namespaces: core, the site switches, the hosts, and
// the management bridge the hosts reach the lease server through.
func (b *testbed) network(ctx context.Context) error {
	err := script(ctx,
		words("ip link set lo up"),
		words("ip link add mgmt type bridge"),
		words("ip addr add "+mgmtNet+".254/24 dev mgmt"),
		words("ip link set mgmt up"))
	if err != nil {
		return err
	}
	if err := newNamespace(ctx, "core"); err != nil {
		return err
	}
	if _, err := in(ctx, "core", words("ip link add br0 type bridge vlan_filtering 1")...); err != nil {
		return err
	}
	for i, site := range sites {
		n := i + 1
		if err := newNamespace(ctx, site); err != nil {
			return err
		}
		core := fmt.Sprintf("c%d", n)
		err := script(ctx,
			words("ip netns exec "+site+" ip link add br0 type bridge vlan_filtering 1"),
			words("ip link add uplink netns "+site+" type veth peer name "+core+" netns core"),
			words("ip netns exec core ip link set "+core+" master br0"),
			// The core (the seed's Xponders or VPLS) trunks every pool VLAN.
			words("ip netns exec core bridge vlan add dev "+core+" vid "+poolVLANs),
			words("ip netns exec core ip link set "+core+" up"),
			words("ip netns exec "+site+" ip link set uplink master br0"),
			words("ip netns exec "+site+" ip link set uplink up"))
		if err != nil {
			return err
		}
		for j := 1; j <= 2; j++ {
			h := &host{name: fmt.Sprintf("s%dh%d", n, j), site: site, port: fmt.Sprintf("h%d", j)}
			h.config = filepath.Join(b.dir, h.name, "virtcloud.toml")
			h.state = filepath.Join(b.dir, h.name, "state")
			if err := newNamespace(ctx, h.name); err != nil {
				return err
			}
			m := "m-" + h.name
			err := script(ctx,
				words("ip link add "+h.port+" netns "+site+" type veth peer name eth0 netns "+h.name),
				words("ip netns exec "+site+" ip link set "+h.port+" master br0"),
				words("ip netns exec "+site+" ip link set "+h.port+" up"),
				words("ip netns exec "+h.name+" ip link set eth0 up"),
				words("ip link add "+m+" type veth peer name mgmt0 netns "+h.name),
				words("ip link set "+m+" master mgmt"),
				words("ip link set "+m+" up"),
				words(fmt.Sprintf("ip netns exec %s ip addr add %s.%d%d/24 dev mgmt0", h.name, mgmtNet, n, j)),
				words("ip netns exec "+h.name+" ip link set mgmt0 up"))
			if err != nil {
				return err
			}
			b.hosts = append(b.hosts, h)
			b.byName[h.name] = h
		}
		if _, err := in(ctx, site, words("ip link set br0 up")...); err != nil {
			return err
		}
	}
	_, err = in(ctx, "core", words("ip link set br0 up")...)
	return err
}

// switches starts one SSH switch emulator per site in exec mode: each
// command line the driver sends runs for real in that site's namespace.
func (b *testbed) switches() error {
	var known []string
	for _, site := range sites {
		e, err := sshemu.Start(sshemu.Config{Dialect: "linux-bridge", Hostname: site + "-sw",
			Ports: []string{"uplink", "h1", "h2", "u1"}, Exec: []string{"ip", "netns", "exec", site, "/bin/sh", "-c"}})
		if err != nil {
			return err
		}
		b.emus[site] = e
		known = append(known, e.KnownHostsLine())
	}
	return os.WriteFile(filepath.Join(b.dir, "known_hosts"), []byte(strings.Join(known, "\n")+"\n"), 0o600)
}

// services starts redis-server and leasesrv in the testbed's root namespace.
func (b *testbed) services(ctx context.Context) error {
	redis := exec.Command("redis-server", "--port", "6390", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", b.dir, "--logfile", filepath.Join(b.dir, "redis.log"))
	if err := redis.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	b.procs = append(b.procs, redis)
	if err := waitFor(ctx, "redis-server", func() bool {
		c, err := net.Dial("tcp", redisAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}); err != nil {
		return err
	}
	conf := filepath.Join(b.dir, "leasesrv.toml")
	if err := os.WriteFile(conf, []byte(b.serverConfig()), 0o600); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(b.dir, "leasesrv.log"))
	if err != nil {
		return err
	}
	srv := exec.Command(filepath.Join(b.bin, "leasesrv"), "serve", "--config", conf)
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start leasesrv: %w", err)
	}
	b.procs = append(b.procs, srv)
	b.api = client.New("http://"+serverAddr, adminSecret)
	exited := make(chan struct{})
	go func() { srv.Process.Wait(); close(exited) }()
	err = waitFor(ctx, "leasesrv", func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		r, err := http.Get("http://" + serverAddr + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil && r.StatusCode == 200
	})
	select {
	case <-exited:
		err = errors.New("leasesrv exited")
	default:
	}
	if err != nil {
		log, _ := os.ReadFile(logf.Name())
		return fmt.Errorf("%w: %s", err, log)
	}
	return nil
}

func (b *testbed) serverConfig() string {
	var s strings.Builder
	fmt.Fprintf(&s, `[server]
listen = %q
reap_interval = "200ms"
switch_timeout = "5s"
audit_interval = "1h"

[redis]
url = "redis://%s/0"

[lease]
min_ttl = "1s"
quarantine = "1s"
hold_timeout = "15s"
commit_timeout = "20s"
`, serverAddr, redisAddr)
	for _, site := range sites {
		fmt.Fprintf(&s, "\n[sites.%s]\nvlans = [%q]\n", site, poolVLANs)
	}
	for _, h := range b.hosts {
		fmt.Fprintf(&s, "\n[hosts.%s]\nsite = %q\nswitch = %q\nport = %q\n", h.name, h.site, h.site+"-sw", h.port)
	}
	fmt.Fprintf(&s, "\n[[tokens]]\nname = \"nodes\"\nsecret = %q\nrole = \"node\"\n", nodeSecret)
	fmt.Fprintf(&s, "\n[[tokens]]\nname = \"admins\"\nsecret = %q\nrole = \"admin\"\n", adminSecret)
	for _, site := range sites {
		e := b.emus[site]
		fmt.Fprintf(&s, `
[switches.%s-sw]
site = %q
driver = "ssh"
dialect = "linux-bridge"
address = %q
uplinks = ["uplink"]
username = %q
password = %q
known_hosts = %q
timeout = "5s"
`, site, site, e.Addr(), e.User(), e.Password(), filepath.Join(b.dir, "known_hosts"))
	}
	return s.String()
}

// torqueNode writes what pbs_mom would have on each node: the hooks under
// their Torque names, each host's configuration file, and the two Torque
// commands the hooks call (qstat -f for a sister's host list, pbsnodes to
// take a broken node out of service), answering for the jobs the tests run.
func (b *testbed) torqueNode() error {
	b.torque = filepath.Join(b.dir, "torque")
	mom := filepath.Join(b.torque, "mom_priv")
	stubs := filepath.Join(b.torque, "bin")
	for _, d := range []string{mom, stubs, filepath.Join(b.torque, "jobs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	for name, bin := range map[string]string{"prologue": "vc-prologue", "prologue.parallel": "vc-prologue",
		"epilogue": "vc-epilogue", "epilogue.parallel": "vc-epilogue"} {
		if err := os.Symlink(filepath.Join(b.bin, bin), filepath.Join(mom, name)); err != nil {
			return err
		}
	}
	qstat := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = -f ] && [ -f %q/\"$2\" ] && exec cat %q/\"$2\"\necho \"qstat: Unknown Job Id $2\" >&2\nexit 153\n",
		filepath.Join(b.torque, "jobs"), filepath.Join(b.torque, "jobs"))
	pbsnodes := fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %q\n", filepath.Join(b.torque, "pbsnodes.log"))
	for name, body := range map[string]string{"qstat": qstat, "pbsnodes": pbsnodes} {
		if err := os.WriteFile(filepath.Join(stubs, name), []byte(body), 0o755); err != nil {
			return err
		}
	}
	for _, h := range b.hosts {
		if err := os.MkdirAll(filepath.Join(b.dir, h.name, "spool"), 0o700); err != nil {
			return err
		}
		conf := fmt.Sprintf(`# %s: a hypervisor host running the Torque hooks and vc-dom0.
[lease]
min_ttl = "1s"
grace = "1s"

[hooks]
server = "http://%s"
token = %q
queues = [%q]
host = %q
budget = "8s"
spool_dir = %q

[dom0]
trunk = "eth0"
state_dir = %q
server = "http://%s"
token = %q
host = %q
`, h.name, serverAddr, nodeSecret, queue, h.name, filepath.Join(b.dir, h.name, "spool"), h.state, serverAddr, nodeSecret, h.name)
		if err := os.WriteFile(h.config, []byte(conf), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (b *testbed) close() {
	for _, e := range b.emus {
		e.Close()
	}
	for _, p := range slices.Backward(b.procs) {
		p.Process.Kill()
		p.Wait()
	}
	if os.Getenv("E2E_KEEP") == "" && b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// ---------------------------------------------------------------- jobs

// job is one cluster job as Torque would run it.
type job struct {
	id       string
	user     string
	hosts    []string
	walltime string
}

// hookResult is one hook run on one host.
type hookResult struct {
	host string
	code int
	out  string
}

// writeJob records the job for the qstat stub and writes the first node's
// PBS_NODEFILE (one line per slot, as Torque writes it).
func (b *testbed) writeJob(j job) (nodefile string, err error) {
	var eh []string
	var nf strings.Builder
	for _, h := range j.hosts {
		eh = append(eh, h+"/0-1")
		fmt.Fprintf(&nf, "%s\n%s\n", h, h)
	}
	qs := fmt.Sprintf("Job Id: %s\n    Job_Name = e2e\n    job_state = R\n    queue = %s\n    exec_host = %s\n", j.id, queue, strings.Join(eh, "+"))
	if err := os.WriteFile(filepath.Join(b.torque, "jobs", j.id), []byte(qs), 0o644); err != nil {
		return "", err
	}
	nodefile = filepath.Join(b.torque, "jobs", j.id+".nodes")
	return nodefile, os.WriteFile(nodefile, []byte(nf.String()), 0o644)
}

func (j job) resources() string {
	return fmt.Sprintf("neednodes=%d:ppn=2,nodes=%d:ppn=2,walltime=%s", len(j.hosts), len(j.hosts), j.walltime)
}

// hook runs a Torque prologue or epilogue on every host of the job, in
// that host's namespace, all at once: the first node's script with
// PBS_NODEFILE, the sisters' .parallel scripts, with pbs_mom's argv.
func (b *testbed) hook(ctx context.Context, j job, epilogue bool) ([]hookResult, error) {
	nodefile, err := b.writeJob(j)
	if err != nil {
		return nil, err
	}
	res := make([]hookResult, len(j.hosts))
	var wg sync.WaitGroup
	for i, hn := range j.hosts {
		h := b.byName[hn]
		name, args := "prologue", []string{j.id, j.user, "users", "e2e", j.resources(), queue, "virtcloud"}
		if epilogue {
			name, args = "epilogue", []string{j.id, j.user, "users", "e2e", "4242", j.resources(),
				"cput=00:00:01,mem=0kb,vmem=0kb,walltime=00:00:05", queue, "virtcloud", "0"}
		}
		env := []string{"PATH=" + filepath.Join(b.torque, "bin") + ":/usr/sbin:/usr/bin:/sbin:/bin",
			"PBS_JOBID=" + j.id, "VIRTCLOUD_CONFIG=" + h.config}
		if i == 0 {
			env = append(env, "PBS_NODEFILE="+nodefile)
		} else {
			name += ".parallel"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			argv := append([]string{"ip", "netns", "exec", h.name, filepath.Join(b.torque, "mom_priv", name)}, args...)
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			res[i] = hookResult{host: h.name, out: string(out)}
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				res[i].code = ee.ExitCode()
			case err != nil:
				res[i].code = -1
				res[i].out += err.Error()
			}
		}()
	}
	wg.Wait()
	return res, nil
}

// mustHook runs hook and fails the test unless every host exits 0.
func (b *testbed) mustHook(t *testing.T, ctx context.Context, j job, epilogue bool) {
	t.Helper()
	res, err := b.hook(ctx, j, epilogue)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.code != 0 {
			t.Fatalf("job %s: %s on %s exited %d: %s", j.id, map[bool]string{false: "prologue", true: "epilogue"}[epilogue], r.host, r.code, r.out)
		}
	}
}

// vlanOf asks the lease server for the job's VLAN.
func (b *testbed) lease(t *testing.T, ctx context.Context, id string) *client.Lease {
	t.Helper()
	l, err := b.api.Get(ctx, id)
	if err != nil {
		t.Fatalf("lease %s: %v", id, err)
	}
	return l
}

// vcctl runs the project's CLI as an administrator.
func (b *testbed) vcctl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(b.bin, "vcctl"), args...)
	cmd.Env = []string{"VIRTCLOUD_SERVER=http://" + serverAddr, "VIRTCLOUD_TOKEN=" + adminSecret, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("vcctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// dom0 runs vc-dom0 on a host.
func (b *testbed) dom0(ctx context.Context, hn string, args ...string) (string, error) {
	h := b.byName[hn]
	return in(ctx, h.name, append([]string{filepath.Join(b.bin, "vc-dom0"), "--config", h.config}, args...)...)
}

// periodic runs vc-periodic on a host, as its systemd timer would.
func (b *testbed) periodic(ctx context.Context, hn string) (string, error) {
	h := b.byName[hn]
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", h.name, filepath.Join(b.bin, "vc-periodic"))
	cmd.Env = []string{"PATH=" + filepath.Join(b.torque, "bin") + ":/usr/sbin:/usr/bin:/sbin:/bin", "VIRTCLOUD_CONFIG=" + h.config}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("vc-periodic on %s: %w: %s", hn, err, out)
	}
	return string(out), nil
}

// ---------------------------------------------------------------- guests

// guest is a namespace standing in for a VM: eth0 is one end of a veth
// pair whose other end, in the host, plays the Xen vif.
type guest struct {
	ns, host, vif, ip string
}

// addGuest boots a guest on host hn and has vc-dom0 attach its vif to the
// cluster's VLAN, as the Xen vif script would.
func (b *testbed) addGuest(ctx context.Context, name, hn, ip string, vlan int) (*guest, error) {
	g := &guest{ns: name, host: hn, vif: "v" + name, ip: ip}
	if _, err := sh(ctx, "ip", "netns", "pids", name); err != nil {
		if err := newNamespace(ctx, name); err != nil {
			return nil, err
		}
	}
	err := script(ctx,
		words("ip link add "+g.vif+" netns "+hn+" type veth peer name eth0 netns "+name),
		words("ip netns exec "+name+" ip addr add "+ip+"/24 dev eth0"),
		words("ip netns exec "+name+" ip link set eth0 up"))
	if err != nil {
		return nil, err
	}
	if out, err := b.dom0(ctx, hn, "attach", "--vlan", fmt.Sprint(vlan), "--iface", g.vif); err != nil {
		return nil, fmt.Errorf("attach %s on %s: %w: %s", g.vif, hn, err, out)
	}
	return g, nil
}

// unplug takes the guest's vif out (vc-dom0 detach, as Xen's offline
// event) and removes the veth pair, keeping the guest namespace.
func (b *testbed) unplug(ctx context.Context, g *guest) error {
	if out, err := b.dom0(ctx, g.host, "detach", "--iface", g.vif); err != nil {
		return fmt.Errorf("detach %s on %s: %w: %s", g.vif, g.host, err, out)
	}
	_, err := in(ctx, g.ns, "ip", "link", "del", "eth0")
	return err
}

// destroy shuts the guest down.
func (b *testbed) destroy(ctx context.Context, g *guest) error {
	if err := b.unplug(ctx, g); err != nil {
		return err
	}
	_, err := sh(ctx, "ip", "netns", "del", g.ns)
	return err
}

// ping sends one echo request from guest g to ip.
func ping(ctx context.Context, g *guest, ip string) bool {
	_, err := in(ctx, g.ns, "ping", "-c", "1", "-W", "2", ip)
	return err == nil
}

// rxPackets reads a guest's eth0 receive counter.
func rxPackets(ctx context.Context, ns string) (int, error) {
	out, err := in(ctx, ns, "cat", "/sys/class/net/eth0/statistics/rx_packets")
	if err != nil {
		return 0, err
	}
	var n int
	_, err = fmt.Sscan(out, &n)
	return n, err
}

// ---------------------------------------------------------------- state

// switchVLANs reads a site switch's kernel bridge: port -> VIDs, VLAN 1
// (every port's default) left out.
func switchVLANs(ctx context.Context, site string) (map[string][]int, error) {
	out, err := in(ctx, site, "bridge", "-j", "vlan", "show")
	if err != nil {
		return nil, err
	}
	var ports []struct {
		IfName string `json:"ifname"`
		VLANs  []struct {
			VLAN    int `json:"vlan"`
			VLANEnd int `json:"vlanEnd"`
		} `json:"vlans"`
	}
	if err := json.Unmarshal([]byte(out), &ports); err != nil {
		return nil, fmt.Errorf("bridge -j vlan show in %s: %w: %s", site, err, out)
	}
	m := map[string][]int{}
	for _, p := range ports {
		for _, v := range p.VLANs {
			for id := v.VLAN; id <= max(v.VLAN, v.VLANEnd); id++ {
				if id != 1 {
					m[p.IfName] = append(m[p.IfName], id)
				}
			}
		}
	}
	return m, nil
}

// hostLinks lists a host's interfaces other than its own (lo, eth0, mgmt0,
// eth1): what vc-dom0 and the hooks made.
func hostLinks(ctx context.Context, hn string) ([]string, error) {
	out, err := in(ctx, hn, "ip", "-j", "link", "show")
	if err != nil {
		return nil, err
	}
	var links []struct {
		IfName string `json:"ifname"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		return nil, fmt.Errorf("ip -j link show in %s: %w", hn, err)
	}
	var names []string
	for _, l := range links {
		if !slices.Contains([]string{"lo", "eth0", "mgmt0", "eth1", "bru"}, l.IfName) && !strings.HasPrefix(l.IfName, "vu") {
			names = append(names, l.IfName)
		}
	}
	return names, nil
}

// jobFiles lists a host's job files.
func (b *testbed) jobFiles(hn string) []string {
	ents, _ := os.ReadDir(filepath.Join(b.byName[hn].state, "jobs"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// wantClean fails the test unless no switch carries a pool VLAN, no host
// has a cluster bridge, VLAN device or job file, no lease is live, and
// every pool is whole again (after its quarantine).
func (b *testbed) wantClean(t *testing.T, ctx context.Context) {
	t.Helper()
	for _, site := range sites {
		m, err := switchVLANs(ctx, site)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) > 0 {
			t.Errorf("switch of %s still carries %v", site, m)
		}
	}
	for _, h := range b.hosts {
		links, err := hostLinks(ctx, h.name)
		if err != nil {
			t.Fatal(err)
		}
		if len(links) > 0 {
			t.Errorf("host %s still has %v", h.name, links)
		}
		if f := b.jobFiles(h.name); len(f) > 0 {
			t.Errorf("host %s still has job files %v", h.name, f)
		}
	}
	// Released VLANs wait in quarantine, which the server empties lazily
	// on the next grant: back in the pool means free or quarantined. A
	// lease whose start failed may stay held until hold_timeout.
	var pools []client.Pool
	var live []string
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := waitFor(wctx, "every VLAN back in its pool", func() bool {
		leases, err := b.api.List(wctx)
		if err != nil {
			return false
		}
		live = nil
		for _, l := range leases {
			if l.State != api.StateReleased && l.State != api.StateFailed {
				live = append(live, fmt.Sprintf("%s is %s with VLAN %d", l.Job, l.State, l.VLAN))
			}
		}
		ps, err := b.api.Pools(wctx)
		if err != nil {
			return false
		}
		pools = ps
		for _, p := range ps {
			if p.Held+p.Active > 0 || p.Free+p.Quarantined != p.Size {
				return false
			}
		}
		return len(live) == 0 && len(ps) == len(sites)
	})
	if err != nil {
		t.Errorf("%v: leases %v, pools %+v", err, live, pools)
	}
}
