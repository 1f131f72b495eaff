package dom0

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/virtcloud/virtcloud/dom0/internal/nstest"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

const trunkName = "trunk0"

func testConfig(t testing.TB, mode string) *config.Dom0 {
	return &config.Dom0{Trunk: trunkName, Mode: mode, StateDir: t.TempDir(),
		BridgePattern: "br{vid}", VLANPattern: "{trunk}.{vid}", Bridge: "vcbr0"}
}

// newHost is a Host working in ns, with a trunk veth whose peer lives in
// another namespace (the "switch").
func newHost(t testing.TB, mode string, ns *nstest.NS) *Host {
	t.Helper()
	if !ns.Has(t, trunkName) {
		ns.Veth(t, trunkName, nstest.New(t), "sw0")
	}
	return hostIn(t, testConfig(t, mode), ns)
}

func hostIn(t testing.TB, cfg *config.Dom0, ns *nstest.NS) *Host {
	t.Helper()
	h, err := New(cfg, Options{Handle: ns.Handle, NetNS: ns.NS})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNames(t *testing.T) {
	h, err := New(testConfig(t, ModeClassic), Options{Handle: &netlink.Handle{}})
	if err != nil {
		t.Fatal(err)
	}
	if h.BridgeName(100) != "br100" || h.VLANDevice(4094) != "trunk0.4094" {
		t.Fatal(h.BridgeName(100), h.VLANDevice(4094))
	}
	for name, want := range map[string]int{"br100": 100, "br4094": 4094, "br0100": 0, "br4095": 0, "br1": 0, "vcbr0": 0, "br100x": 0} {
		v, err := h.VLANOfBridge(name)
		if v != want || (want == 0) != errors.Is(err, ErrInvalid) {
			t.Errorf("VLANOfBridge(%q) = %d, %v; want %d", name, v, err, want)
		}
	}
	cfg := testConfig(t, ModeClassic)
	cfg.VLANPattern = "averylongtrunk.{vid}"
	if _, err := New(cfg, Options{Handle: &netlink.Handle{}}); err == nil {
		t.Fatal("a 19-character device name was accepted")
	}
	cfg.Mode = "ovs"
	if _, err := New(cfg, Options{Handle: &netlink.Handle{}}); err == nil {
		t.Fatal("mode ovs accepted")
	}
}

// TestConflictsChangeNothing runs on kernels without 802.1Q: every conflict
// is found before anything is created.
func TestConflictsChangeNothing(t *testing.T) {
	ctx := context.Background()
	t.Run("bridge name is a veth", func(t *testing.T) {
		ns := nstest.New(t)
		h := newHost(t, ModeClassic, ns)
		ns.Veth(t, "br100", nstest.New(t), "x")
		if _, err := h.Ensure(ctx, 100); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `"br100" already exists but is a veth`) {
			t.Fatalf("err = %v", err)
		}
		if ns.Link(t, "br100").Type() != "veth" || ns.Has(t, "trunk0.100") {
			t.Fatal("conflict changed something")
		}
	})
	t.Run("VLAN device name is a veth", func(t *testing.T) {
		ns := nstest.New(t)
		h := newHost(t, ModeClassic, ns)
		ns.Veth(t, "trunk0.100", nstest.New(t), "x")
		if _, err := h.Ensure(ctx, 100); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "not VLAN 100 on trunk0") {
			t.Fatalf("err = %v", err)
		}
		if ns.Has(t, "br100") {
			t.Fatal("bridge created despite the conflict")
		}
	})
	t.Run("bridge holds the trunk", func(t *testing.T) {
		ns := nstest.New(t)
		h := newHost(t, ModeClassic, ns)
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br100"}}
		if err := ns.Handle.LinkAdd(br); err != nil {
			t.Fatal(err)
		}
		if err := ns.Handle.LinkSetMaster(ns.Link(t, trunkName), br); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Ensure(ctx, 100); !errors.Is(err, ErrConflict) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("vlan-aware bridge without filtering", func(t *testing.T) {
		ns := nstest.New(t)
		h := newHost(t, ModeVLANAware, ns)
		if err := ns.Handle.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "vcbr0"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Ensure(ctx, 100); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "without VLAN filtering") {
			t.Fatalf("err = %v", err)
		}
		if ns.Link(t, trunkName).Attrs().MasterIndex != 0 {
			t.Fatal("trunk enslaved despite the conflict")
		}
	})
	t.Run("missing trunk", func(t *testing.T) {
		ns := nstest.New(t)
		h := hostIn(t, testConfig(t, ModeClassic), ns)
		if _, err := h.Ensure(ctx, 100); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("VLAN out of range", func(t *testing.T) {
		h := newHost(t, ModeClassic, nstest.New(t))
		for _, v := range []int{0, 1, 4095} {
			if err := h.Attach(ctx, v, "vif1.0"); !errors.Is(err, ErrInvalid) {
				t.Fatalf("VLAN %d: %v", v, err)
			}
		}
	})
}

func TestRemovalIsIdempotent(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{ModeClassic, ModeVLANAware} {
		t.Run(mode, func(t *testing.T) {
			ns := nstest.New(t)
			h := newHost(t, mode, ns)
			for range 2 {
				if err := h.Detach(ctx, "vif9.0"); err != nil {
					t.Fatal(err)
				}
				if err := h.Release(ctx, 100); err != nil {
					t.Fatal(err)
				}
			}
			st, err := h.Status(ctx)
			if err != nil || len(st) != 0 {
				t.Fatalf("status %v %v", st, err)
			}
		})
	}
}

func TestDetachLeavesForeignBridges(t *testing.T) {
	ns := nstest.New(t)
	h := newHost(t, ModeClassic, ns)
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "lxcbr0"}}
	if err := ns.Handle.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	ns.Veth(t, "veth1", nstest.New(t), "eth0")
	if err := ns.Handle.LinkSetMaster(ns.Link(t, "veth1"), br); err != nil {
		t.Fatal(err)
	}
	if err := h.Detach(context.Background(), "veth1"); !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v", err)
	}
	if ns.Link(t, "veth1").Attrs().MasterIndex == 0 {
		t.Fatal("veth1 was taken out of a bridge vc-dom0 does not manage")
	}
}

func TestStatusShowsJobFiles(t *testing.T) {
	ns := nstest.New(t)
	h := newHost(t, ModeClassic, ns)
	if err := hostjob.Write(h.StateDir(), hostjob.Job{Job: "42.srv", VLAN: 300}); err != nil {
		t.Fatal(err)
	}
	st, err := h.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].VLAN != 300 || len(st[0].Jobs) != 1 || st[0].Jobs[0] != "42.srv" {
		t.Fatalf("status = %+v", st)
	}
}
