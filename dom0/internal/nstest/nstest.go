// Package nstest gives dom0's tests network namespaces of their own: a fresh
// namespace per test with a netlink handle in it, veth pairs between
// namespaces, and code run inside a namespace. They need root: without it
// a test skips on a developer's machine and fails when CI=true.
package nstest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
)

// NS is one network namespace and a handle in it.
type NS struct {
	Handle *netlink.Handle
	NS     netns.NsHandle
}

// New makes a fresh namespace, closed when the test ends.
func New(t testing.TB) *NS {
	t.Helper()
	if os.Geteuid() != 0 {
		// In CI a missing privilege is a failure, never a silent skip.
		if os.Getenv("CI") == "true" {
			t.Fatal("network namespaces need root, and CI=true runs as root")
		}
		t.Skip("network namespaces need root")
	}
	ns, err := newNS()
	if err != nil {
		t.Fatalf("new netns: %v", err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		_ = ns.Close() // failing anyway
		t.Fatalf("netlink handle: %v", err)
	}
	t.Cleanup(func() { h.Close(); _ = ns.Close() }) // the namespace dies with its last handle
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatalf("lo up: %v", err)
	}
	return &NS{Handle: h, NS: ns}
}

func newNS() (netns.NsHandle, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return 0, err
	}
	defer func() { _ = orig.Close() }() // a handle only used to return
	ns, err := netns.New()
	if err != nil {
		return 0, err
	}
	if err := netns.Set(orig); err != nil {
		panic(fmt.Sprintf("cannot return to the original netns: %v", err))
	}
	return ns, nil
}

// Path names the namespace for another process (/proc/<pid>/fd/<fd>).
func (n *NS) Path() string { return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(n.NS)) }

// Veth makes a veth pair: name in n, peer (named peerName) in other, both up.
func (n *NS) Veth(t testing.TB, name string, other *NS, peerName string) {
	t.Helper()
	tmp := fmt.Sprintf("vp%d", os.Getpid()%100000)
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: tmp}
	if err := n.Handle.LinkAdd(v); err != nil {
		t.Fatalf("veth %s: %v", name, err)
	}
	peer, err := n.Handle.LinkByName(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Handle.LinkSetNsFd(peer, int(other.NS)); err != nil {
		t.Fatalf("move %s: %v", tmp, err)
	}
	if peer, err = other.Handle.LinkByName(tmp); err != nil {
		t.Fatal(err)
	}
	if err := other.Handle.LinkSetName(peer, peerName); err != nil {
		t.Fatalf("rename %s to %s: %v", tmp, peerName, err)
	}
	other.Up(t, peerName)
	n.Up(t, name)
}

// Up sets a link up.
func (n *NS) Up(t testing.TB, name string) {
	t.Helper()
	l := n.Link(t, name)
	if err := n.Handle.LinkSetUp(l); err != nil {
		t.Fatalf("%s up: %v", name, err)
	}
}

// PortVLANs lists a bridge port's VLANs as "vid[P][U]" (P: its PVID, U:
// untagged), sorted.
func (n *NS) PortVLANs(t testing.TB, port string) []string {
	t.Helper()
	all, err := n.Handle.BridgeVlanList()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, vi := range all[int32(n.Link(t, port).Attrs().Index)] {
		s := fmt.Sprint(vi.Vid)
		if vi.Flags&nl.BRIDGE_VLAN_INFO_PVID != 0 {
			s += "P"
		}
		if vi.Flags&nl.BRIDGE_VLAN_INFO_UNTAGGED != 0 {
			s += "U"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Link reads a link that must exist.
func (n *NS) Link(t testing.TB, name string) netlink.Link {
	t.Helper()
	l, err := n.Handle.LinkByName(name)
	if err != nil {
		t.Fatalf("link %s: %v", name, err)
	}
	return l
}

// Has says whether a link exists.
func (n *NS) Has(t testing.TB, name string) bool {
	t.Helper()
	_, err := n.Handle.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if err != nil && !isNotFound(err, &nf) {
		t.Fatalf("link %s: %v", name, err)
	}
	return err == nil
}

// Addr gives link name the address cidr ("10.0.0.1/24").
func (n *NS) Addr(t testing.TB, name, cidr string) {
	t.Helper()
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Handle.AddrAdd(n.Link(t, name), a); err != nil {
		t.Fatalf("addr %s on %s: %v", cidr, name, err)
	}
}

// Do runs f on a thread inside the namespace; sockets f opens stay there.
// The thread is thrown away afterwards rather than switched back.
func (n *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if err := netns.Set(n.NS); err != nil {
			errc <- fmt.Errorf("enter netns: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// UDP opens a UDP socket on addr inside the namespace.
func (n *NS) UDP(t testing.TB, addr string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := n.Do(func() error {
		a, err := net.ResolveUDPAddr("udp4", addr)
		if err != nil {
			return err
		}
		c, err = net.ListenUDP("udp4", a)
		return err
	})
	if err != nil {
		t.Fatalf("udp %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() }) // the test is over
	return c
}

func isNotFound(err error, nf *netlink.LinkNotFoundError) bool { return errors.As(err, nf) }
