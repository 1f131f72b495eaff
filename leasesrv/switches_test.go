package leasesrv_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/snmpsim"
	"github.com/virtcloud/virtcloud/leasesrv"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

// fabric is three sites with real test peers for switches: brno's is a real
// SNMP agent (snmpsimd serving an Arista recording), praha's an emulated
// Cisco IOS and plzen's an emulated Junos, both over SSH.
type fabric struct {
	srv   *leasetest.Server
	snmp  *snmpsim.Agent
	praha *sshemu.Emulator
	plzen *sshemu.Emulator
	net   *leasesrv.SwitchNetwork
}

func newFabric(t *testing.T) *fabric {
	t.Helper()
	f, cfg := startPeers(t)
	f.srv = leasetest.Start(t, leasetest.Options{Config: cfg})
	f.net = f.srv.Net.(*leasesrv.SwitchNetwork)
	return f
}

// startPeers starts the three switches and returns leasetest.Config with
// them added, hosts attached to them, and short timeouts.
func startPeers(t *testing.T) (*fabric, string) {
	t.Helper()
	f := &fabric{snmp: snmpsim.Start(t, snmpsim.Options{Recording: snmpsim.Arista})}
	var err error
	if f.praha, err = sshemu.Start(sshemu.Config{Dialect: "cisco-ios", Hostname: "praha-sw1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.praha.Close)
	if f.plzen, err = sshemu.Start(sshemu.Config{Dialect: "junos", Hostname: "plzen-sw1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.plzen.Close)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := writeKnownHosts(kh, f.praha, f.plzen); err != nil {
		t.Fatal(err)
	}
	cfg := leasetest.Config + fmt.Sprintf(`
[switches.brno-sw1]
site = "brno"
driver = "snmp"
address = %q
community = %q
uplinks = ["Ethernet48"]
[switches.praha-sw1]
site = "praha"
driver = "ssh"
dialect = "cisco-ios"
address = %q
username = %q
password = %q
known_hosts = %q
uplinks = ["Gi1/0/48"]
[switches.plzen-sw1]
site = "plzen"
driver = "ssh"
dialect = "junos"
address = %q
username = %q
password = %q
known_hosts = %q
uplinks = ["ge-0/0/47"]
`, f.snmp.Addr, f.snmp.Community,
		f.praha.Addr(), f.praha.User(), f.praha.Password(), kh,
		f.plzen.Addr(), f.plzen.User(), f.plzen.Password(), kh)
	cfg = strings.Replace(cfg, "[hosts.skirit82-1]\nsite = \"brno\"", "[hosts.skirit82-1]\nsite = \"brno\"\nswitch = \"brno-sw1\"\nports = [\"Ethernet3\", \"Ethernet4\"]", 1)
	cfg = strings.Replace(cfg, "[hosts.skurut9-1]\nsite = \"praha\"", "[hosts.skurut9-1]\nsite = \"praha\"\nswitch = \"praha-sw1\"\nport = \"Gi1/0/9\"", 1)
	cfg = strings.Replace(cfg, "[hosts.konos23-1]\nsite = \"plzen\"", "[hosts.konos23-1]\nsite = \"plzen\"\nswitch = \"plzen-sw1\"\nport = \"ge-0/0/23\"", 1)
	cfg = strings.Replace(cfg, `listen = "127.0.0.1:0"`, `listen = "127.0.0.1:0"`+"\nswitch_timeout = \"3s\"", 1)
	cfg = strings.Replace(cfg, `commit_timeout = "5s"`, `commit_timeout = "8s"`, 1)
	return f, cfg
}

func writeKnownHosts(path string, emus ...*sshemu.Emulator) error {
	var lines []string
	for _, e := range emus {
		lines = append(lines, e.KnownHostsLine())
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// carried reads, through the drivers, which ports of each switch carry vid.
func (f *fabric) carried(t *testing.T, vid int) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, sw := range []string{"brno-sw1", "praha-sw1", "plzen-sw1"} {
		d, err := f.net.Driver(sw)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, found, err := d.VLAN(ctx, vid)
		cancel()
		if err != nil {
			t.Fatalf("read %s: %v", sw, err)
		}
		if found {
			ports := append(slices.Clone(v.Tagged), v.Untagged...)
			slices.Sort(ports)
			out[sw] = ports
		}
	}
	return out
}

func TestCommitConfiguresExactlyThePlanOnRealPeers(t *testing.T) {
	f := newFabric(t)
	l := f.srv.Activate("1.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	got := f.carried(t, l.VLAN)
	want := map[string][]string{
		"brno-sw1":  {"Ethernet3", "Ethernet4", "Ethernet48"},
		"praha-sw1": {"Gi1/0/48", "Gi1/0/9"},
		"plzen-sw1": {"ge-0/0/23", "ge-0/0/47"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after commit the switches carry %v, want %v", got, want)
	}
	if _, err := f.srv.Client(leasetest.SchedulerToken).Release(context.Background(), l.Job, l.Token); err != nil {
		t.Fatal(err)
	}
	if got := f.carried(t, l.VLAN); len(got) != 0 {
		t.Fatalf("after release the switches still carry %v", got)
	}
}

func TestFailureAtAnyStepLeavesNothing(t *testing.T) {
	f := newFabric(t)
	ctx := context.Background()
	for k, emu := range []*sshemu.Emulator{f.praha, f.plzen} {
		// The emulated switch refuses the port's change the way the real
		// device prints an error for it.
		port := map[int]string{0: "Gi1/0/9", 1: "ge-0/0/23"}[k]
		emu.FailPort(port)
		job := fmt.Sprintf("fail%d.pbs", k)
		l := f.srv.Create(job, "skirit82-1", "skurut9-1", "konos23-1")
		_, err := f.srv.Client(leasetest.SchedulerToken).WaitActive(ctx, job, l.Token)
		leasetest.WantCode(t, err, api.CodeNetworkFault)
		if got := f.srv.Get(job); got.State != api.StateFailed {
			t.Fatalf("%s: %s", job, got.State)
		}
		if got := f.carried(t, l.VLAN); len(got) != 0 {
			t.Fatalf("switch %d failing: the others still carry %v", k, got)
		}
		emu.FailPort("")
	}
}

func TestUnreachableSwitchFailsTheCommitCleanly(t *testing.T) {
	f := newFabric(t)
	f.plzen.Stop()
	l := f.srv.Create("down.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	start := time.Now()
	_, err := f.srv.Client(leasetest.SchedulerToken).WaitActive(context.Background(), l.Job, l.Token)
	leasetest.WantCode(t, err, api.CodeNetworkFault)
	if waited := time.Since(start); waited > 20*time.Second {
		t.Fatalf("the caller waited %s, far beyond the commit timeout", waited)
	}
	if err := f.plzen.Restart(); err != nil {
		t.Fatal(err)
	}
	if got := f.carried(t, l.VLAN); len(got) != 0 {
		t.Fatalf("a failed commit left %v", got)
	}
	// Once the switch is back, the next start works.
	next := f.srv.Activate("down.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	if next.FailedStarts != 1 {
		t.Fatalf("failed_starts %d", next.FailedStarts)
	}
}

func TestMigrationAppliesOnlyTheDifference(t *testing.T) {
	f := newFabric(t)
	ctx := context.Background()
	l := f.srv.Activate("mig.pbs", "skirit82-1", "skurut9-1")
	c := f.srv.Client(leasetest.SchedulerToken)
	moved, err := c.Patch(ctx, l.Job, l.Token, nil, []string{"skirit82-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(moved.Sites, []string{"praha"}) {
		t.Fatalf("sites after the move: %v", moved.Sites)
	}
	got := f.carried(t, l.VLAN)
	want := map[string][]string{"praha-sw1": {"Gi1/0/48", "Gi1/0/9"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the move the switches carry %v, want %v", got, want)
	}
	// plzen does not lend this VLAN (120; its pool starts at 180): the move is
	// refused and nothing changes.
	_, err = c.Patch(ctx, l.Job, l.Token, []string{"konos23-1"}, nil)
	leasetest.WantCode(t, err, api.CodePoolExhausted)
	if got := f.carried(t, l.VLAN); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("a refused move changed the switches: %v", got)
	}
	if got := f.srv.Get(l.Job); !slices.Equal(got.Hosts, []string{"skurut9-1"}) {
		t.Fatalf("a refused move changed the lease: %v", got.Hosts)
	}
}
