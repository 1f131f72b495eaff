package leasesrv_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/leasesrv/audit"
	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/ssh"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

type fabric = audittest.Fabric

// newFabric is the lease server with three real switch peers: brno's a real
// SNMP agent, praha's an emulated Cisco IOS, plzen's an emulated Junos.
func newFabric(t *testing.T) *fabric { return audittest.Start(t) }

func writeKnownHosts(path string, emus ...*sshemu.Emulator) error {
	var lines []string
	for _, e := range emus {
		lines = append(lines, e.KnownHostsLine())
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

func TestCommitConfiguresExactlyThePlanOnRealPeers(t *testing.T) {
	f := newFabric(t)
	l := f.Srv.Activate("1.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	got := f.Carried(t, l.VLAN)
	want := map[string][]string{
		"brno-sw1":  {"Ethernet3", "Ethernet4", "Ethernet48"},
		"praha-sw1": {"Gi1/0/48", "Gi1/0/9"},
		"plzen-sw1": {"ge-0/0/23", "ge-0/0/47"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after commit the switches carry %v, want %v", got, want)
	}
	if _, err := f.Srv.Client(leasetest.SchedulerToken).Release(context.Background(), l.Job, l.Token); err != nil {
		t.Fatal(err)
	}
	if got := f.Carried(t, l.VLAN); len(got) != 0 {
		t.Fatalf("after release the switches still carry %v", got)
	}
}

func TestFailureAtAnyStepLeavesNothing(t *testing.T) {
	f := newFabric(t)
	ctx := context.Background()
	for k, emu := range []*sshemu.Emulator{f.Praha, f.Plzen} {
		// The emulated switch refuses the port's change the way the real
		// device prints an error for it.
		port := map[int]string{0: "Gi1/0/9", 1: "ge-0/0/23"}[k]
		emu.FailPort(port)
		job := fmt.Sprintf("fail%d.pbs", k)
		l := f.Srv.Create(job, "skirit82-1", "skurut9-1", "konos23-1")
		_, err := f.Srv.Client(leasetest.SchedulerToken).WaitActive(ctx, job, l.Token)
		leasetest.WantCode(t, err, api.CodeNetworkFault)
		if got := f.Srv.Get(job); got.State != api.StateFailed {
			t.Fatalf("%s: %s", job, got.State)
		}
		if got := f.Carried(t, l.VLAN); len(got) != 0 {
			t.Fatalf("switch %d failing: the others still carry %v", k, got)
		}
		emu.FailPort("")
	}
}

func TestUnreachableSwitchFailsTheCommitCleanly(t *testing.T) {
	f := newFabric(t)
	f.Plzen.Stop()
	l := f.Srv.Create("down.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	start := time.Now()
	_, err := f.Srv.Client(leasetest.SchedulerToken).WaitActive(context.Background(), l.Job, l.Token)
	leasetest.WantCode(t, err, api.CodeNetworkFault)
	if waited := time.Since(start); waited > 20*time.Second {
		t.Fatalf("the caller waited %s, far beyond the commit timeout", waited)
	}
	if err := f.Plzen.Restart(); err != nil {
		t.Fatal(err)
	}
	if got := f.Carried(t, l.VLAN); len(got) != 0 {
		t.Fatalf("a failed commit left %v", got)
	}
	// Once the switch is back, the next start works.
	next := f.Srv.Activate("down.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	if next.FailedStarts != 1 {
		t.Fatalf("failed_starts %d", next.FailedStarts)
	}
}

func TestMigrationAppliesOnlyTheDifference(t *testing.T) {
	f := newFabric(t)
	ctx := context.Background()
	l := f.Srv.Activate("mig.pbs", "skirit82-1", "skurut9-1")
	c := f.Srv.Client(leasetest.SchedulerToken)
	moved, err := c.Patch(ctx, l.Job, l.Token, nil, []string{"skirit82-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(moved.Sites, []string{"praha"}) {
		t.Fatalf("sites after the move: %v", moved.Sites)
	}
	// One host on one switch: the lease leaves the core, so the uplink drops too.
	got := f.Carried(t, l.VLAN)
	want := map[string][]string{"praha-sw1": {"Gi1/0/9"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the move the switches carry %v, want %v", got, want)
	}
	// plzen does not lend this VLAN (120; its pool starts at 180): the move is
	// refused and nothing changes.
	_, err = c.Patch(ctx, l.Job, l.Token, []string{"konos23-1"}, nil)
	leasetest.WantCode(t, err, api.CodePoolExhausted)
	if got := f.Carried(t, l.VLAN); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("a refused move changed the switches: %v", got)
	}
	if got := f.Srv.Get(l.Job); !slices.Equal(got.Hosts, []string{"skurut9-1"}) {
		t.Fatalf("a refused move changed the lease: %v", got.Hosts)
	}
}

// TestTwoServersShareSwitches: two lease servers on one Redis commit and
// release leases that share all three switches at the same time; every
// switch ends up carrying exactly what the active leases explain.
func TestTwoServersShareSwitches(t *testing.T) {
	f, cfg := audittest.Peers(t)
	rs := redistest.Start(t)
	clk := leasetest.NewClock()
	a := leasetest.Start(t, leasetest.Options{Config: cfg, Redis: rs, Clock: clk})
	b := leasetest.Start(t, leasetest.Options{Config: cfg, Redis: rs, Clock: clk})
	f.Fleet = a.Fleet
	ctx := context.Background()
	var mu sync.Mutex
	active := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := []*leasetest.Server{a, b}[i%2]
			other := []*leasetest.Server{b, a}[i%2]
			job := fmt.Sprintf("shared%d.pbs", i)
			l := srv.Activate(job, "skirit82-1", "skurut9-1", "konos23-1")
			if i%3 == 0 { // released through the other server
				if _, err := other.Client(leasetest.SchedulerToken).Release(ctx, job, l.Token); err != nil {
					t.Errorf("release %s: %v", job, err)
				}
				return
			}
			mu.Lock()
			active[job] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	a.Svc.Wait()
	b.Svc.Wait()
	checkInvariants(t, a.Cfg, a.Svc.Store(), f.Fleet, active)
}

// TestTeardownWaitsForADownSwitch: a switch that is down when a lease ends
// keeps the lease releasing and its VLAN out of the pool; once the switch is
// back, the reaper finishes the teardown.
func TestTeardownWaitsForADownSwitch(t *testing.T) {
	f := newFabric(t)
	ctx := context.Background()
	l := f.Srv.Activate("down.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	f.Plzen.Stop()
	got, err := f.Srv.Client(leasetest.SchedulerToken).Release(ctx, l.Job, l.Token)
	if err != nil || got.State != api.StateReleasing {
		t.Fatalf("release with a switch down: %+v %v", got, err)
	}
	if owner, _ := f.Srv.Svc.Store().Owner(ctx, "plzen", l.VLAN); owner != l.Job {
		t.Fatalf("VLAN %d at plzen went back to the pool before its teardown finished (owner %q)", l.VLAN, owner)
	}
	f.Srv.Clock.Advance(time.Minute)
	f.Srv.Reap() // the switch is still down: the lease stays releasing
	if got := f.Srv.Get(l.Job); got.State != api.StateReleasing {
		t.Fatalf("teardown finished with a switch down: %s", got.State)
	}
	if err := f.Plzen.Restart(); err != nil {
		t.Fatal(err)
	}
	f.Srv.Clock.Advance(2 * time.Minute) // past the doubled retry window
	f.Srv.Reap()
	if got := f.Srv.Get(l.Job); got.State != api.StateReleased {
		t.Fatalf("after the switch came back: %s", got.State)
	}
	if got := f.Carried(t, l.VLAN); len(got) != 0 {
		t.Fatalf("after the teardown the switches still carry %v", got)
	}
}

// dialectPorts are, per SSH dialect, the host's port and the uplink written
// the long way as administrators copy them, the names the driver reports
// for them, and another port of the switch.
var dialectPorts = map[string]struct{ host, hostIs, uplink, uplinkIs, other string }{
	"cisco-ios":         {"GigabitEthernet1/0/9", "Gi1/0/9", "gigabitethernet1/0/48", "Gi1/0/48", "Gi1/0/10"},
	"cisco-nxos":        {"Ethernet1/9", "Eth1/9", "ethernet1/48", "Eth1/48", "Eth1/10"},
	"brocade-fastiron":  {"ethernet 1/1/9", "1/1/9", "ethe1/1/48", "1/1/48", "1/1/10"},
	"sonic":             {"Ethernet32", "Ethernet32", "Ethernet188", "Ethernet188", "Ethernet36"},
	"dell-os10":         {"Ethernet 1/1/9", "ethernet1/1/9", "eth1/1/48", "ethernet1/1/48", "ethernet1/1/10"},
	"dell-os9":          {"TenGigabitEthernet 0/9", "Te0/9", "tengigabitethernet0/48", "Te0/48", "Te0/10"},
	"mellanox-onyx":     {"ethernet 1/9", "Eth1/9", "1/48", "Eth1/48", "Eth1/10"},
	"dell-powerconnect": {"GigabitEthernet1/0/9", "Gi1/0/9", "gigabitethernet 1/0/48", "Gi1/0/48", "Gi1/0/10"},
	"cumulus-nvue":      {"swp9", "swp9", "swp48", "swp48", "swp10"},
	"comware":           {"GigabitEthernet1/0/9", "GE1/0/9", "gigabitethernet 1/0/48", "GE1/0/48", "GE1/0/10"},
	"huawei-vrp":        {"GigabitEthernet0/0/9", "GE0/0/9", "gigabitethernet0/0/48", "GE0/0/48", "GE0/0/10"},
	"arista-eos":        {"Ethernet9", "Et9", "ethernet48", "Et48", "Et10"},
	"procurve":          {"ethernet9", "9", "ethernet 48", "48", "10"},
	"junos":             {"ge-0/0/9.0", "ge-0/0/9", "GE-0/0/47", "ge-0/0/47", "ge-0/0/10"},
	"linux-bridge":      {"swp9", "swp9", "swp48", "swp48", "swp10"},
}

// TestEveryDialectThroughTheLeaseServer: each SSH dialect on its emulator,
// with the host port and the uplink written the long way: committing a
// lease puts its VLAN on both, the audit finds drift made behind the
// server's back and --fix repairs it, and the release takes the VLAN away.
func TestEveryDialectThroughTheLeaseServer(t *testing.T) {
	for _, dl := range ssh.Dialects() {
		t.Run(dl, func(t *testing.T) {
			ports, ok := dialectPorts[dl]
			if !ok {
				t.Fatalf("no ports listed for dialect %s", dl)
			}
			emu, err := sshemu.Start(sshemu.Config{Dialect: dl, Hostname: "praha-sw1"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(emu.Close)
			kh := filepath.Join(t.TempDir(), "known_hosts")
			if err := writeKnownHosts(kh, emu); err != nil {
				t.Fatal(err)
			}
			cfg := strings.Replace(leasetest.Config, "[hosts.skurut9-1]\nsite = \"praha\"",
				fmt.Sprintf("[hosts.skurut9-1]\nsite = \"praha\"\nswitch = \"praha-sw1\"\nport = %q", ports.host), 1) +
				fmt.Sprintf("[switches.praha-sw1]\nsite = \"praha\"\ndriver = \"ssh\"\ndialect = %q\naddress = %q\nusername = %q\npassword = %q\nknown_hosts = %q\nuplinks = [%q]\n",
					dl, emu.Addr(), emu.User(), emu.Password(), kh, ports.uplink)
			srv := leasetest.Start(t, leasetest.Options{Config: cfg})
			rec := audit.New(srv.Cfg, srv.Svc.Store(), srv.Fleet, slog.New(slog.DiscardHandler))
			ctx := context.Background()
			onDevice := func(vid int) []string {
				for _, v := range emu.VLANs() {
					if v.ID == vid {
						ps := append(slices.Clone(v.Tagged), v.Untagged...)
						slices.Sort(ps)
						return ps
					}
				}
				return nil
			}
			want := []string{ports.hostIs, ports.uplinkIs}
			slices.Sort(want)

			// Two sites (skirit83-1 is a pre-provisioned host in brno): the
			// lease joins the core, so the uplink carries its VLAN too.
			l := srv.Activate("d.pbs", "skurut9-1", "skirit83-1")
			if got := onDevice(l.VLAN); !slices.Equal(got, want) {
				t.Fatalf("after commit the switch carries %v on VLAN %d, want %v ", got, l.VLAN, want)
			}
			rep, err := rec.Run(ctx, audit.Options{})
			if err != nil || !rep.Clean() {
				t.Fatalf("audit after commit: %+v %v", rep, err)
			}

			// Behind the server's back: the uplink loses the VLAN, another port gains it.
			behind, err := switchdrv.Open(srv.Cfg.Switches["praha-sw1"], switchdrv.Options{Name: "praha-sw1-behind"})
			if err != nil {
				t.Fatal(err)
			}
			defer behind.Close()
			if err := behind.Apply(ctx, switchdrv.Change{VLAN: l.VLAN, Remove: []string{ports.uplinkIs}, Add: []string{ports.other}}); err != nil {
				t.Fatal(err)
			}
			rep, err = rec.Run(ctx, audit.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var found []string
			for _, s := range rep.Switches {
				for _, f := range s.Findings {
					found = append(found, fmt.Sprintf("%s %v", f.Kind, f.Ports))
				}
			}
			slices.Sort(found)
			if wantF := []string{fmt.Sprintf("extra [%s]", ports.other), fmt.Sprintf("missing [%s]", ports.uplinkIs)}; !slices.Equal(found, wantF) {
				t.Fatalf("audit found %q, want %q", found, wantF)
			}
			if rep, err = rec.Run(ctx, audit.Options{Fix: true}); err != nil || rep.Counts["fixed"] != 2 {
				t.Fatalf("audit --fix: %+v %v", rep, err)
			}
			if got := onDevice(l.VLAN); !slices.Equal(got, want) {
				t.Fatalf("after the fix the switch carries %v, want %v", got, want)
			}
			if rep, err = rec.Run(ctx, audit.Options{}); err != nil || !rep.Clean() {
				t.Fatalf("audit after the fix: %+v %v", rep, err)
			}

			if _, err := srv.Client(leasetest.SchedulerToken).Release(ctx, l.Job, l.Token); err != nil {
				t.Fatal(err)
			}
			if got := onDevice(l.VLAN); len(got) != 0 {
				t.Fatalf("after release the switch still carries %v", got)
			}
		})
	}
}
