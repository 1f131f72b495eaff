//go:build vmtest

// Kernel tests that need 802.1Q devices and bridge VLAN filtering. They are
// built with -tags vmtest and run inside a VM with Debian's stock kernel by
// scripts/phases/40-vm-dom0.sh; a missing kernel feature fails them.
package dom0

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/virtcloud/virtcloud/dom0/internal/nstest"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

var modes = []string{ModeClassic, ModeVLANAware}

const trunkMTU = 1400

// pair is two hypervisor hosts whose trunks are cabled to each other.
type pair struct {
	ns1, ns2 *nstest.NS
	h1, h2   *Host
}

func twoHosts(t *testing.T, mode string) *pair {
	ns1, ns2 := nstest.New(t), nstest.New(t)
	ns1.Veth(t, trunkName, ns2, trunkName)
	for _, ns := range []*nstest.NS{ns1, ns2} {
		if err := ns.Handle.LinkSetMTU(ns.Link(t, trunkName), trunkMTU); err != nil {
			t.Fatal(err)
		}
	}
	return &pair{ns1, ns2, hostIn(t, testConfig(t, mode), ns1), hostIn(t, testConfig(t, mode), ns2)}
}

type guest struct {
	ns  *nstest.NS
	mac net.HardwareAddr
	ip  string
}

// addGuest makes a guest namespace whose eth0 is cabled to port on the host
// and attaches port to vlan.
func addGuest(t *testing.T, hostNS *nstest.NS, h *Host, port string, vlan int, ip string) *guest {
	t.Helper()
	g := &guest{ns: nstest.New(t), ip: ip}
	hostNS.Veth(t, port, g.ns, "eth0")
	g.ns.Addr(t, "eth0", ip+"/24")
	g.mac = g.ns.Link(t, "eth0").Attrs().HardwareAddr
	if err := h.Attach(context.Background(), vlan, port); err != nil {
		t.Fatal(err)
	}
	return g
}

func checkPlacement(t *testing.T, ns *nstest.NS, h *Host, port string, vlan int) {
	t.Helper()
	l := ns.Link(t, port)
	mtu := ns.Link(t, trunkName).Attrs().MTU
	if l.Attrs().MTU != mtu || l.Attrs().OperState == netlink.OperDown {
		t.Errorf("%s: mtu %d state %s", port, l.Attrs().MTU, l.Attrs().OperState)
	}
	master := ns.Link(t, map[string]string{ModeClassic: h.BridgeName(vlan), ModeVLANAware: "vcbr0"}[h.Mode()])
	if l.Attrs().MasterIndex != master.Attrs().Index {
		t.Errorf("%s is not in %s", port, master.Attrs().Name)
	}
	if h.Mode() == ModeVLANAware {
		if got, want := ns.PortVLANs(t, port), []string{fmt.Sprintf("%dPU", vlan)}; !slices.Equal(got, want) {
			t.Errorf("%s VLANs %v, want %v", port, got, want)
		}
		return
	}
	if l.Attrs().Group != GuestGroup {
		t.Errorf("%s group %#x, want %#x", port, l.Attrs().Group, GuestGroup)
	}
	dev := ns.Link(t, h.VLANDevice(vlan))
	if v, ok := dev.(*netlink.Vlan); !ok || v.VlanId != vlan || dev.Attrs().MasterIndex != master.Attrs().Index || dev.Attrs().MTU != mtu {
		t.Errorf("%s: not VLAN %d in %s with mtu %d", h.VLANDevice(vlan), vlan, master.Attrs().Name, mtu)
	}
}

// udpReaches says whether a datagram from a to b arrives.
func udpReaches(t *testing.T, a, b *guest, wait time.Duration) bool {
	t.Helper()
	rx := b.ns.UDP(t, b.ip+":7000")
	tx := a.ns.UDP(t, a.ip+":0")
	defer rx.Close()
	defer tx.Close()
	msg := []byte("hello from " + a.ip)
	dst := &net.UDPAddr{IP: net.ParseIP(b.ip), Port: 7000}
	deadline := time.Now().Add(wait)
	buf := make([]byte, 100)
	for time.Now().Before(deadline) {
		// Resent: the first datagram may wait on ARP.
		if _, err := tx.WriteToUDP(msg, dst); err != nil {
			t.Fatal(err)
		}
		rx.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := rx.ReadFromUDP(buf)
		if err == nil && bytes.Equal(buf[:n], msg) {
			return true
		}
	}
	return false
}

func TestEndToEnd(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			p := twoHosts(t, mode)
			a1 := addGuest(t, p.ns1, p.h1, "vif1.0", 100, "10.9.0.1")
			b1 := addGuest(t, p.ns1, p.h1, "vif2.0", 200, "10.9.0.2")
			a2 := addGuest(t, p.ns2, p.h2, "vif3.0", 100, "10.9.0.3")
			b2 := addGuest(t, p.ns2, p.h2, "vif4.0", 200, "10.9.0.4")
			checkPlacement(t, p.ns1, p.h1, "vif1.0", 100)
			checkPlacement(t, p.ns1, p.h1, "vif2.0", 200)
			checkPlacement(t, p.ns2, p.h2, "vif3.0", 100)
			if mode == ModeVLANAware {
				if got := p.ns1.PortVLANs(t, trunkName); !slices.Equal(got, []string{"100", "200"}) {
					t.Errorf("trunk VLANs %v, want tagged 100 and 200", got)
				}
			}

			// Frames of a1 must never reach VLAN 200's guests.
			spyB1, spyB2 := b1.ns.RawSocket(t, "eth0"), b2.ns.RawSocket(t, "eth0")
			if !udpReaches(t, a1, a2, 20*time.Second) {
				t.Fatal("no traffic between two guests of VLAN 100 on two hosts")
			}
			if !udpReaches(t, b1, b2, 20*time.Second) {
				t.Fatal("no traffic between two guests of VLAN 200 on two hosts")
			}
			if udpReaches(t, a1, b2, time.Second) || udpReaches(t, a1, b1, time.Second) {
				t.Fatal("traffic crossed from VLAN 100 to VLAN 200")
			}
			for name, spy := range map[string]*nstest.Raw{"b1": spyB1, "b2": spyB2} {
				if fs := spy.Collect(t, a1.mac, 300*time.Millisecond, nil); len(fs) > 0 {
					t.Errorf("%s (VLAN 200) saw %d frames of a1 (VLAN 100): %s", name, len(fs), nstest.Describe(fs))
				}
			}
			testTagEscapes(t, p, a1, a2, b1, b2)
		})
	}
}

// testTagEscapes sends frames carrying the guest's own tags and checks that
// none reaches another VLAN: not VLAN 200's guests, and on the wire between
// the hosts nothing but VLAN 100 (classic mode: no guest-tagged frame at all).
func testTagEscapes(t *testing.T, p *pair, a1, a2, b1, b2 *guest) {
	marker := []byte("virtcloud-escape-" + p.h1.Mode())
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	wire := p.ns2.RawSocket(t, trunkName)
	inA2, inB1, inB2 := a2.ns.RawSocket(t, "eth0"), b1.ns.RawSocket(t, "eth0"), b2.ns.RawSocket(t, "eth0")
	out := a1.ns.RawSocket(t, "eth0")
	attacks := map[string][]nstest.Tag{
		"VID 1":                {{TPID: 0x8100, VID: 1}},
		"VID 200":              {{TPID: 0x8100, VID: 200}},
		"double 1/200":         {{TPID: 0x8100, VID: 1}, {TPID: 0x8100, VID: 200}},
		"double 100/200":       {{TPID: 0x8100, VID: 100}, {TPID: 0x8100, VID: 200}},
		"double 802.1ad 200/1": {{TPID: 0x88a8, VID: 200}, {TPID: 0x8100, VID: 1}},
	}
	for name, tags := range attacks {
		out.Send(t, nstest.EtherFrame(bcast, a1.mac, tags, append(slices.Clone(marker), name...)))
	}
	control := append(slices.Clone(marker), "control"...)
	out.Send(t, nstest.EtherFrame(bcast, a1.mac, nil, control))
	isControl := func(f nstest.Frame) bool { return bytes.Contains(f.Data, control) }

	if fs := inA2.Collect(t, marker, 10*time.Second, isControl); !slices.ContainsFunc(fs, isControl) {
		t.Fatalf("the untagged control frame did not reach a2 in VLAN 100: %s", nstest.Describe(fs))
	}
	fs := wire.Collect(t, marker, 10*time.Second, isControl)
	if !slices.ContainsFunc(fs, isControl) {
		t.Fatalf("the control frame was not seen on the trunk: %s", nstest.Describe(fs))
	}
	for _, f := range fs {
		switch {
		case f.VID != 100:
			t.Errorf("frame left on the trunk outside VLAN 100: %s", nstest.Describe([]nstest.Frame{f}))
		case p.h1.Mode() == ModeClassic && !isControl(f):
			t.Errorf("guest-tagged frame passed the guard: %s", nstest.Describe([]nstest.Frame{f}))
		}
	}
	for name, spy := range map[string]*nstest.Raw{"b1": inB1, "b2": inB2} {
		if fs := spy.Collect(t, marker, 300*time.Millisecond, nil); len(fs) > 0 {
			t.Errorf("%s in VLAN 200 received tagged frames of a1: %s", name, nstest.Describe(fs))
		}
	}
}

func TestCrashLeftovers(t *testing.T) {
	ctx := context.Background()
	t.Run(ModeClassic, func(t *testing.T) {
		ns := nstest.New(t)
		h := newHost(t, ModeClassic, ns)
		trunk := ns.Link(t, trunkName)
		// VLAN 100: device left behind, down, in no bridge.
		if err := ns.Handle.LinkAdd(&netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: "trunk0.100", ParentIndex: trunk.Attrs().Index}, VlanId: 100}); err != nil {
			t.Fatal(err)
		}
		// VLAN 200: bridge left behind without its device.
		if err := ns.Handle.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br200"}}); err != nil {
			t.Fatal(err)
		}
		// VLAN 300: only a job file of a job that is gone, and a lock file.
		if err := hostjob.Write(h.StateDir(), hostjob.Job{Job: "old.1", VLAN: 300}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Ensure(ctx, 300); err != nil {
			t.Fatal(err)
		}
		peer := nstest.New(t)
		for i, v := range []int{100, 200, 300} {
			port := fmt.Sprintf("vif%d.0", i)
			ns.Veth(t, port, peer, fmt.Sprintf("g%d", i))
			for range 2 { // twice: attach is idempotent
				if err := h.Attach(ctx, v, port); err != nil {
					t.Fatal(err)
				}
			}
			checkPlacement(t, ns, h, port, v)
		}
		for i := range 3 {
			for range 2 {
				if err := h.Detach(ctx, fmt.Sprintf("vif%d.0", i)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, n := range []string{"br100", "trunk0.100", "br200", "trunk0.200"} {
			if ns.Has(t, n) {
				t.Errorf("%s left over", n)
			}
		}
		if !ns.Has(t, "br300") {
			t.Fatal("br300 removed although a job file names VLAN 300")
		}
		if err := hostjob.Remove(h.StateDir(), "old.1"); err != nil {
			t.Fatal(err)
		}
		if err := h.Release(ctx, 300); err != nil {
			t.Fatal(err)
		}
		if ns.Has(t, "br300") || ns.Has(t, "trunk0.300") {
			t.Fatal("VLAN 300 left over after release")
		}
	})
	t.Run(ModeVLANAware, func(t *testing.T) {
		ns := nstest.New(t)
		h := newHost(t, ModeVLANAware, ns)
		on, pvid := true, uint16(0)
		if err := ns.Handle.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "vcbr0"}, VlanFiltering: &on, VlanDefaultPVID: &pvid}); err != nil {
			t.Fatal(err)
		}
		br := ns.Link(t, "vcbr0")
		// A guest port left half-configured in two VLANs, trunk not enslaved.
		ns.Veth(t, "vif5.0", nstest.New(t), "eth0")
		port := ns.Link(t, "vif5.0")
		if err := ns.Handle.LinkSetMaster(port, br); err != nil {
			t.Fatal(err)
		}
		for _, v := range []uint16{100, 200} {
			if err := ns.Handle.BridgeVlanAdd(port, v, v == 200, true, false, true); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Attach(ctx, 300, "vif5.0"); err != nil {
			t.Fatal(err)
		}
		checkPlacement(t, ns, h, "vif5.0", 300)
		if err := h.Detach(ctx, "vif5.0"); err != nil {
			t.Fatal(err)
		}
		if got := ns.PortVLANs(t, trunkName); len(got) != 0 {
			t.Fatalf("trunk still in VLANs %v", got)
		}
	})
}

func TestJobFileKeepsBridge(t *testing.T) {
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ns := nstest.New(t)
			h := newHost(t, mode, ns)
			if err := hostjob.Write(h.StateDir(), hostjob.Job{Job: "7[1].srv", VLAN: 100}); err != nil {
				t.Fatal(err)
			}
			ns.Veth(t, "vif1.0", nstest.New(t), "eth0")
			if err := h.Attach(ctx, 100, "vif1.0"); err != nil {
				t.Fatal(err)
			}
			if err := h.Detach(ctx, "vif1.0"); err != nil {
				t.Fatal(err)
			}
			if err := h.Release(ctx, 100); err != nil {
				t.Fatal(err)
			}
			if st, _ := h.Status(ctx); len(st) != 1 || st[0].Bridge == "" {
				t.Fatalf("VLAN 100 gone while its job file exists: %+v", st)
			}
			if err := hostjob.Remove(h.StateDir(), "7[1].srv"); err != nil {
				t.Fatal(err)
			}
			if err := h.Release(ctx, 100); err != nil {
				t.Fatal(err)
			}
			if st, _ := h.Status(ctx); len(st) != 0 {
				t.Fatalf("left over: %+v", st)
			}
		})
	}
}

// TestAttachMovesAGuest: a guest interface attached straight to another
// VLAN leaves its old VLAN as a detach would: kept while another guest
// uses it, removed with the last one.
func TestAttachMovesAGuest(t *testing.T) {
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ns := nstest.New(t)
			h := newHost(t, mode, ns)
			vlans := func() map[int][]string {
				st, err := h.Status(ctx)
				if err != nil {
					t.Fatal(err)
				}
				m := map[int][]string{}
				for _, v := range st {
					m[v.VLAN] = v.Ports
				}
				return m
			}
			addGuest(t, ns, h, "vif1.0", 100, "10.9.0.1")
			addGuest(t, ns, h, "vif2.0", 100, "10.9.0.2")
			steps := []struct {
				port string
				want string
			}{
				{"vif1.0", "map[100:[vif2.0] 200:[vif1.0]]"},
				{"vif2.0", "map[200:[vif1.0 vif2.0]]"},
				{"vif2.0", "map[200:[vif1.0 vif2.0]]"},
			}
			for _, s := range steps {
				if err := h.Attach(ctx, 200, s.port); err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprint(vlans()); got != s.want {
					t.Fatalf("after moving %s to VLAN 200: %s, want %s", s.port, got, s.want)
				}
			}
			checkPlacement(t, ns, h, "vif2.0", 200)
		})
	}
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ns := nstest.New(t)
			h := newHost(t, mode, ns)
			peer := nstest.New(t)
			for i, v := range []int{100, 200} {
				port := fmt.Sprintf("vif%d.0", i)
				ns.Veth(t, port, peer, fmt.Sprintf("g%d", i))
				if err := hostjob.Write(h.StateDir(), hostjob.Job{Job: fmt.Sprintf("j%d", v), VLAN: v}); err != nil {
					t.Fatal(err)
				}
				if err := h.Attach(ctx, v, port); err != nil {
					t.Fatal(err)
				}
			}
			removed, err := h.GC(ctx, []Placement{{Job: "j100", VLAN: 100}})
			if err != nil || !slices.Equal(removed, []int{200}) {
				t.Fatalf("GC = %v, %v", removed, err)
			}
			st, _ := h.Status(ctx)
			if len(st) != 1 || st[0].VLAN != 100 || !slices.Equal(st[0].Ports, []string{"vif0.0"}) || !slices.Equal(st[0].Jobs, []string{"j100"}) {
				t.Fatalf("after GC: %+v", st)
			}
			if ns.Link(t, "vif1.0").Attrs().MasterIndex != 0 {
				t.Fatal("the guest of the dead VLAN is still in a bridge")
			}
		})
	}
}

// TestConcurrentGuests: 20 guests on 3 VLANs attach and detach at once, each
// through its own Host and netlink socket as separate processes would.
func TestConcurrentGuests(t *testing.T) {
	const guests = 20
	vlans := []int{100, 200, 300}
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ns := nstest.New(t)
			cfg := testConfig(t, mode)
			newHost(t, mode, ns)
			peer := nstest.New(t)
			for i := range guests {
				ns.Veth(t, fmt.Sprintf("vif%d.0", i), peer, fmt.Sprintf("g%d", i))
			}
			run := func(f func(h *Host, port string, vlan int) error) {
				var wg sync.WaitGroup
				errs := make(chan error, guests)
				for i := range guests {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs <- f(hostIn(t, cfg, ns), fmt.Sprintf("vif%d.0", i), vlans[i%len(vlans)])
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Error(err)
					}
				}
			}
			run(func(h *Host, port string, vlan int) error { return h.Attach(ctx, vlan, port) })
			h := hostIn(t, cfg, ns)
			for i := range guests {
				checkPlacement(t, ns, h, fmt.Sprintf("vif%d.0", i), vlans[i%len(vlans)])
			}
			run(func(h *Host, port string, vlan int) error {
				for _, f := range []func() error{
					func() error { return h.Detach(ctx, port) },
					func() error { return h.Attach(ctx, vlan, port) },
					func() error { return h.Detach(ctx, port) },
				} {
					if err := f(); err != nil {
						return err
					}
				}
				return nil
			})
			if st, err := h.Status(ctx); err != nil || len(st) != 0 {
				t.Fatalf("left over: %+v %v", st, err)
			}
			links, _ := ns.Handle.LinkList()
			for _, l := range links {
				if l.Attrs().MasterIndex != 0 && l.Attrs().Name != trunkName {
					t.Errorf("%s is still in a bridge", l.Attrs().Name)
				}
				if _, ok := l.(*netlink.Vlan); ok || (l.Type() == "bridge" && l.Attrs().Name != "vcbr0") {
					t.Errorf("%s left over", l.Attrs().Name)
				}
			}
			if mode == ModeVLANAware {
				if got := ns.PortVLANs(t, trunkName); len(got) != 0 {
					t.Errorf("trunk still in VLANs %v", got)
				}
			}
		})
	}
}

// BenchmarkAttachVsIP attaches and detaches 100 guest interfaces through
// the netlink path and the way Xen's vif-bridge and OpenNebula do, one ip
// command per step. Each round (-test.benchtime Nx runs N in one boot)
// prints its own ratio and per-guest times of both paths, so that
// bench/report judges the goal over the spread of the rounds. One untimed
// round comes first: in six boots the first round always gave the highest
// ratio, its ip path 20 to 70 % slower than in the later rounds and the
// netlink path no slower, one ratio above the others with neither path
// doing anything differently.
func BenchmarkAttachVsIP(b *testing.B) {
	const n = 100
	ctx := context.Background()
	ns := nstest.New(b)
	h := newHost(b, ModeClassic, ns)
	if _, err := h.Ensure(ctx, 100); err != nil {
		b.Fatal(err)
	}
	// The bridge stays between rounds, as with a running job.
	if err := hostjob.Write(h.StateDir(), hostjob.Job{Job: "bench", VLAN: 100}); err != nil {
		b.Fatal(err)
	}
	peer := nstest.New(b)
	ports := make([]string, n)
	for i := range ports {
		ports[i] = fmt.Sprintf("vif%d.0", i)
		ns.Veth(b, ports[i], peer, fmt.Sprintf("g%d", i))
	}
	ip := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %v: %v: %s", args, err, out)
		}
		return nil
	}
	// Both paths do the same work from the same state: each attach finds
	// its port down and brings it up, each detach takes it out of the
	// bridge and leaves it up (as vc-dom0's Detach does).
	allDown := func() {
		for _, p := range ports {
			if err := ns.Handle.LinkSetDown(ns.Link(b, p)); err != nil {
				b.Fatal(err)
			}
		}
	}
	mtu := fmt.Sprint(trunkMTUOf(h)) // read once: no ip command does it
	// Each pass times the attaches and then the detaches of one path.
	netlinkPass := func() (attach, detach time.Duration) {
		allDown()
		t := time.Now()
		for _, p := range ports {
			if err := h.Attach(ctx, 100, p); err != nil {
				b.Fatal(err)
			}
		}
		attach, t = time.Since(t), time.Now()
		for _, p := range ports {
			if err := h.Detach(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		return attach, time.Since(t)
	}
	ipPass := func() (attach, detach time.Duration) {
		allDown()
		err := ns.Do(func() error { // ip runs in the host's namespace
			t := time.Now()
			for _, p := range ports {
				for _, args := range [][]string{{"link", "show", "dev", "br100"}, {"link", "set", "dev", p, "mtu", mtu},
					{"link", "set", "dev", p, "master", "br100"}, {"link", "set", "dev", p, "up"}} {
					if err := ip(args...); err != nil {
						return err
					}
				}
			}
			attach, t = time.Since(t), time.Now()
			for _, p := range ports {
				if err := ip("link", "set", "dev", p, "nomaster"); err != nil {
					return err
				}
			}
			detach = time.Since(t)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return attach, detach
	}
	// A round is a netlink pass, an ip pass and another netlink pass: the
	// netlink path's time is the mean of the passes before and after the
	// ip pass, so both paths are timed over the same stretch of the host's
	// load, and a drift during the round cancels.
	round := func() (nlAttach, nlDetach, ipAttach, ipDetach time.Duration) {
		a1, d1 := netlinkPass()
		ipAttach, ipDetach = ipPass()
		a2, d2 := netlinkPass()
		return (a1 + a2) / 2, (d1 + d2) / 2, ipAttach, ipDetach
	}
	round() // warm-up, untimed
	perGuest := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	for b.Loop() {
		nlAttach, nlDetach, ipAttach, ipDetach := round()
		fmt.Printf("BENCH dom0_speedup_vs_ip=%.2f dom0_attach_ms=%.3f dom0_detach_ms=%.3f dom0_ip_attach_ms=%.3f dom0_ip_detach_ms=%.3f\n",
			float64(ipAttach+ipDetach)/float64(nlAttach+nlDetach),
			perGuest(nlAttach), perGuest(nlDetach), perGuest(ipAttach), perGuest(ipDetach))
	}
}

func trunkMTUOf(h *Host) int {
	t, err := h.trunk()
	if err != nil {
		return 1500
	}
	return t.Attrs().MTU
}

// TestFirstUseSinceBoot: twelve hosts (namespaces of one kernel) ensure a
// classic-mode VLAN at the same moment, the first VLAN device, bridge and
// nftables use since boot, as six hosts' prologues do in the end-to-end
// testbed: every one succeeds although the kernel is loading 8021q, bridge
// and nf_tables meanwhile. The phase runs it first, in a VM of its own that
// preloads no network module. Without whileModuleLoads it failed in three
// boots of four ("operation not supported" creating the first VLAN device
// or bridge, EINVAL from the first nftables chain dump).
func TestFirstUseSinceBoot(t *testing.T) {
	hosts := make([]*Host, 12)
	for i := range hosts {
		hosts[i] = newHost(t, ModeClassic, nstest.New(t))
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, len(hosts))
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = h.Ensure(context.Background(), 100)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("host %d: %v", i, err)
		}
	}
}
