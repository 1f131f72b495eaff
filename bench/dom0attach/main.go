// Command dom0attach measures, inside a throw-away VM (bench/dom0-series.sh
// runs it there as root), what one guest attach costs as the bridge fills
// up: vc-dom0's netlink path (package dom0) against the same attach done
// with `ip` commands, the way Xen's vif-bridge does it, for 1..100 guests.
// It prints the kernel it ran on and one SERIES line per point:
//
//	VMKERNEL <release>
//	SERIES dom0_attach_ms_vs_guests <guests> <median> <min> <max>
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/virtcloud/virtcloud/dom0"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

const (
	guests = 100
	rounds = 3 // netlink rounds; the ip baseline runs once (it is slow)
	window = 5 // attaches around each point that make up its sample
	vlan   = 100
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "dom0attach:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		fmt.Printf("VMKERNEL %s\n", unix.ByteSliceToString(u.Release[:]))
	}
	if err := veth("trunk0", "sw0"); err != nil {
		return err
	}
	ports := make([]string, guests)
	for i := range ports {
		ports[i] = fmt.Sprintf("vif%d.0", i)
		if err := veth(ports[i], fmt.Sprintf("g%d", i)); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "dom0attach")
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }() // a scratch directory; a leftover is harmless
	h, err := dom0.New(&config.Dom0{Trunk: "trunk0", Mode: dom0.ModeClassic, StateDir: dir,
		BridgePattern: "br{vid}", VLANPattern: "{trunk}.{vid}", Bridge: "vcbr0"}, dom0.Options{})
	if err != nil {
		return err
	}
	defer h.Close()
	br, err := h.Ensure(ctx, vlan)
	if err != nil {
		return err
	}
	// A running job keeps the bridge between rounds.
	if err := hostjob.Write(dir, hostjob.Job{Job: "bench", VLAN: vlan}); err != nil {
		return err
	}

	nl := make([][]float64, guests) // nl[k]: attaches with k guests already on the bridge
	for range rounds {
		for k, p := range ports {
			t0 := time.Now()
			if err := h.Attach(ctx, vlan, p); err != nil {
				return err
			}
			nl[k] = append(nl[k], ms(time.Since(t0)))
		}
		for _, p := range ports {
			if err := h.Detach(ctx, p); err != nil {
				return err
			}
		}
	}
	// The ip baseline is slow (one process per step under emulation): only
	// the attaches inside a point's window go through ip, the others
	// through netlink, untimed.
	ipt := make([][]float64, guests)
	for k, p := range ports {
		if !inWindow(k) {
			if err := h.Attach(ctx, vlan, p); err != nil {
				return err
			}
			continue
		}
		t0 := time.Now()
		for _, args := range [][]string{{"link", "show", "dev", br}, {"link", "set", "dev", p, "mtu", "1500"},
			{"link", "set", "dev", p, "master", br}, {"link", "set", "dev", p, "up"}} {
			if err := ip(ctx, args...); err != nil {
				return err
			}
		}
		ipt[k] = append(ipt[k], ms(time.Since(t0)))
	}
	for _, k := range points {
		series("dom0_attach_ms_vs_guests", k, nl)
		series("dom0_ip_attach_ms_vs_guests", k, ipt)
	}
	return nil
}

// points are the numbers of guests reported.
var points = []int{1, 10, 25, 50, 75, 100}

// inWindow tells whether attach i (with i guests already on the bridge)
// belongs to a point's sample.
func inWindow(i int) bool {
	for _, k := range points {
		if i >= k-window && i < k {
			return true
		}
	}
	return false
}

// series prints the point for k guests: the attach that brought the bridge
// to k guests and the window-1 before it.
func series(name string, k int, times [][]float64) {
	var xs []float64
	for i := max(0, k-window); i < k; i++ {
		xs = append(xs, times[i]...)
	}
	slices.Sort(xs)
	fmt.Printf("SERIES %s %d %.3f %.3f %.3f\n", name, k, xs[len(xs)/2], xs[0], xs[len(xs)-1])
}

func veth(name, peer string) error {
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer}); err != nil {
		return fmt.Errorf("veth %s: %w", name, err)
	}
	for _, n := range []string{name, peer} {
		l, err := netlink.LinkByName(n)
		if err != nil {
			return fmt.Errorf("veth %s: %w", n, err)
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return fmt.Errorf("veth %s up: %w", n, err)
		}
	}
	return nil
}

func ip(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
