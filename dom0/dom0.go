// Package dom0 puts a hypervisor host's guest interfaces into their cluster's
// VLAN. It owns the host side of the tagging: VLAN devices and one bridge per
// VLAN (classic mode) or one VLAN-filtering bridge (vlan-aware mode), the
// nftables rule that keeps guests' own 802.1Q tags from escaping, the per-VLAN
// locks and the job files in the state directory. Everything goes through
// netlink on an injected handle, never through ip/brctl.
package dom0

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

// Modes of [dom0] mode.
const (
	ModeClassic   = "classic"
	ModeVLANAware = "vlan-aware"
)

// GuestGroup is the interface group (ip link set dev X group N) that marks
// guest ports in classic mode; the nftables rule drops tagged frames arriving
// from interfaces in it. The value spells "vc" in its high bytes so it does
// not collide with groups an administrator picks by hand.
const GuestGroup = 0x76630001

// ErrConflict means an object vc-dom0 would create already exists with the
// wrong kind or configuration; it is left untouched.
var ErrConflict = errors.New("conflicting network object")

// ErrNotFound means a device the operation needs (trunk, guest interface)
// does not exist.
var ErrNotFound = errors.New("no such device")

// ErrInvalid means a bad argument (VLAN out of range, unknown bridge name).
var ErrInvalid = errors.New("invalid argument")

// Options are the parts a Host is built from.
type Options struct {
	// Handle is the netlink handle of the namespace to work in (nil: the
	// namespace of the calling process).
	Handle *netlink.Handle
	// NetNS is that namespace, for the sockets Host opens itself (nftables,
	// filtered link dumps). Zero means the namespace of the calling process;
	// a Handle from elsewhere must come with its NetNS.
	NetNS netns.NsHandle
	// Logger gets one line per change (nil: discard).
	Logger *slog.Logger
}

// Host manages one hypervisor host's VLAN plumbing.
type Host struct {
	cfg      config.Dom0
	nl       *netlink.Handle
	ns       netns.NsHandle
	route    *nl.SocketHandle
	log      *slog.Logger
	bridgeRE *regexp.Regexp
	// guarded is set once the nftables guard was found or installed, so
	// attaches after the first pay nothing for it.
	guarded atomic.Bool
}

// New checks cfg and returns a Host. Defaults of config.applyDefaults are
// assumed to be filled in (config.Load or config.LoadPart does that).
func New(cfg *config.Dom0, opts Options) (*Host, error) {
	if cfg == nil {
		return nil, fmt.Errorf("dom0: no [dom0] configuration")
	}
	c := *cfg
	if c.Mode != ModeClassic && c.Mode != ModeVLANAware {
		return nil, fmt.Errorf("dom0: mode must be %q or %q, not %q", ModeClassic, ModeVLANAware, c.Mode)
	}
	if c.Trunk == "" || c.StateDir == "" || c.Bridge == "" {
		return nil, fmt.Errorf("dom0: trunk, state_dir and bridge must be set")
	}
	for _, p := range []string{c.BridgePattern, c.VLANPattern} {
		if strings.Count(p, "{vid}") != 1 {
			return nil, fmt.Errorf("dom0: name pattern %q must contain {vid} once", p)
		}
		if n := expand(p, c.Trunk, config.MaxVLAN); len(n) > 15 {
			return nil, fmt.Errorf("dom0: %q is longer than the kernel's 15-character limit", n)
		}
	}
	ns := opts.NetNS
	if ns == 0 {
		ns = netns.None()
	}
	h := opts.Handle
	if h == nil {
		var err error
		// Only rtnetlink: the library's default also opens XFRM and
		// netfilter sockets, whose modules the kernel may still be loading.
		if h, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE); err != nil {
			return nil, fmt.Errorf("dom0: open netlink: %w", err)
		}
	}
	sock, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("dom0: open netlink: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	before, after, _ := strings.Cut(c.BridgePattern, "{vid}")
	re := regexp.MustCompile("^" + regexp.QuoteMeta(before) + "([1-9][0-9]{0,3})" + regexp.QuoteMeta(after) + "$")
	return &Host{cfg: c, nl: h, ns: ns, route: &nl.SocketHandle{Socket: sock}, log: log, bridgeRE: re}, nil
}

// Close releases the Host's own netlink socket (not an injected Handle).
func (h *Host) Close() { h.route.Close() }

// Mode is the host's mode (ModeClassic or ModeVLANAware).
func (h *Host) Mode() string { return h.cfg.Mode }

// StateDir is where locks and job files live.
func (h *Host) StateDir() string { return h.cfg.StateDir }

func expand(pattern, trunk string, vlan int) string {
	return strings.NewReplacer("{vid}", strconv.Itoa(vlan), "{trunk}", trunk).Replace(pattern)
}

// BridgeName is the name the bridge pattern gives VLAN n: the per-VLAN bridge
// in classic mode, and the name Xen domain configs use in both modes.
func (h *Host) BridgeName(vlan int) string { return expand(h.cfg.BridgePattern, h.cfg.Trunk, vlan) }

// VLANDevice is the name of VLAN n's device on the trunk (classic mode).
func (h *Host) VLANDevice(vlan int) string { return expand(h.cfg.VLANPattern, h.cfg.Trunk, vlan) }

// VLANOfBridge reads the VLAN from a bridge name that follows the bridge
// pattern ("br100" -> 100).
func (h *Host) VLANOfBridge(name string) (int, error) {
	m := h.bridgeRE.FindStringSubmatch(name)
	if m == nil {
		return 0, fmt.Errorf("bridge %q does not follow the pattern %q: %w", name, h.cfg.BridgePattern, ErrInvalid)
	}
	v, _ := strconv.Atoi(m[1])
	if err := checkVLAN(v); err != nil {
		return 0, fmt.Errorf("bridge %q: %w", name, err)
	}
	return v, nil
}

func checkVLAN(v int) error {
	if v < config.MinVLAN || v > config.MaxVLAN {
		return fmt.Errorf("VLAN %d is out of range %d-%d: %w", v, config.MinVLAN, config.MaxVLAN, ErrInvalid)
	}
	return nil
}

// Ensure creates (or checks) what VLAN vlan needs on this host and returns
// the bridge guests of that VLAN join.
func (h *Host) Ensure(ctx context.Context, vlan int) (string, error) {
	if err := checkVLAN(vlan); err != nil {
		return "", fmt.Errorf("ensure: %w", err)
	}
	unlock, err := h.lock(ctx, vlan)
	if err != nil {
		return "", err
	}
	defer unlock()
	p, err := h.ensureLocked(ctx, vlan)
	if err != nil {
		return "", err
	}
	return p.bridge.Attrs().Name, nil
}

// Attach ensures VLAN vlan and puts the guest interface iface into it: up,
// with the trunk's MTU, as an untagged member of that VLAN only. An
// interface moved straight from another VLAN leaves that VLAN as a detach
// would: removed when nothing else uses it.
func (h *Host) Attach(ctx context.Context, vlan int, iface string) error {
	if err := checkVLAN(vlan); err != nil {
		return fmt.Errorf("attach %s: %w", iface, err)
	}
	old, err := h.attach(ctx, vlan, iface)
	if err != nil {
		return err
	}
	if old != 0 && old != vlan {
		// The guest is attached: a VLAN left behind is only untidy, and
		// the next release or gc removes it.
		if err := h.Release(ctx, old); err != nil {
			h.log.Warn("the VLAN the interface left is kept", "iface", iface, "vlan", old, "err", err)
		}
	}
	return nil
}

// attach does Attach's work under VLAN vlan's lock and returns the managed
// VLAN the interface was in before (0: none).
func (h *Host) attach(ctx context.Context, vlan int, iface string) (int, error) {
	unlock, err := h.lock(ctx, vlan)
	if err != nil {
		return 0, err
	}
	defer unlock()
	p, err := h.ensureLocked(ctx, vlan)
	if err != nil {
		return 0, fmt.Errorf("attach %s: %w", iface, err)
	}
	br := p.bridge.Attrs().Name
	old, err := h.attachLocked(vlan, iface, p)
	if err != nil {
		return 0, fmt.Errorf("attach %s to %s: %w", iface, br, err)
	}
	h.log.Info("attached", "iface", iface, "vlan", vlan, "bridge", br)
	return old, nil
}

// Detach takes iface out of its VLAN and removes the VLAN's bridge if
// nothing uses it any more. An interface that no longer exists or is in no
// bridge is already detached.
func (h *Host) Detach(ctx context.Context, iface string) error {
	link, vlan, err := h.vlanOfPort(iface)
	if err != nil {
		return fmt.Errorf("detach %s: %w", iface, err)
	}
	if vlan == 0 {
		return nil
	}
	unlock, err := h.lock(ctx, vlan)
	if err != nil {
		return err
	}
	defer unlock()
	// Re-read under the lock: another detach may have won, or the port
	// moved to another bridge meanwhile.
	now, err := h.linkByName(iface)
	if err != nil {
		return fmt.Errorf("detach %s: %w", iface, err)
	}
	if now != nil && now.Attrs().MasterIndex == link.Attrs().MasterIndex {
		again := vlan
		if h.cfg.Mode == ModeVLANAware {
			if again, err = h.portPVID(now); err != nil {
				return fmt.Errorf("detach %s: %w", iface, err)
			}
		}
		if again == vlan {
			if err := h.detachLink(now); err != nil {
				return fmt.Errorf("detach %s: %w", iface, err)
			}
			h.log.Info("detached", "iface", iface, "vlan", vlan)
		}
	}
	_, err = h.releaseLocked(ctx, vlan, false)
	return err
}

// Release removes VLAN vlan's bridge and VLAN device (or, in vlan-aware mode,
// the VLAN from the trunk) unless a guest port or a job file still uses it.
func (h *Host) Release(ctx context.Context, vlan int) error {
	if err := checkVLAN(vlan); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	unlock, err := h.lock(ctx, vlan)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = h.releaseLocked(ctx, vlan, false)
	return err
}

// plumbing is what ensure found or made for a VLAN.
type plumbing struct{ bridge, trunk netlink.Link }

func (h *Host) ensureLocked(ctx context.Context, vlan int) (plumbing, error) {
	if h.cfg.Mode == ModeVLANAware {
		return h.ensureAware(ctx, vlan)
	}
	return h.ensureClassic(ctx, vlan)
}

// attachLocked reads the interface once, under the lock, and returns the
// managed VLAN it was in before.
func (h *Host) attachLocked(vlan int, iface string, p plumbing) (int, error) {
	if iface == h.cfg.Trunk || iface == p.bridge.Attrs().Name || iface == h.VLANDevice(vlan) {
		return 0, fmt.Errorf("%q is the host's own device, not a guest interface: %w", iface, ErrInvalid)
	}
	link, err := h.linkByName(iface)
	if err != nil {
		return 0, err
	}
	if link == nil {
		return 0, fmt.Errorf("guest interface %q: %w", iface, ErrNotFound)
	}
	if h.cfg.Mode == ModeVLANAware {
		return h.attachAware(vlan, link, p.bridge, p.trunk)
	}
	old := vlan
	if link.Attrs().MasterIndex != p.bridge.Attrs().Index {
		// In another bridge: the VLAN it names, if one of ours. In none
		// we manage (or one unreadable here) it leaves no VLAN behind.
		old, _ = h.vlanOfMaster(link)
	}
	return old, h.attachClassic(link, p.bridge, p.trunk)
}

// releaseLocked removes VLAN vlan's objects when unused (force: even with
// guest ports, which are detached first, and job files). Job files are read
// first: one naming the VLAN keeps it whatever the kernel holds, and reading
// them costs a directory read where the kernel's answer costs a list of the
// bridge's ports, which grows with the guests on it. Job files that cannot
// be read fail a release only when the kernel says the VLAN is unused. It
// reports whether it removed anything.
func (h *Host) releaseLocked(_ context.Context, vlan int, force bool) (bool, error) {
	var jobErr error
	if !force {
		job, err := h.jobOf(vlan)
		if job != "" {
			h.log.Debug("kept: a job file names the VLAN", "vlan", vlan, "job", job)
			return false, nil
		}
		jobErr = err
	}
	var removed bool
	var err error
	if h.cfg.Mode == ModeVLANAware {
		removed, err = h.releaseAware(vlan, force, jobErr)
	} else {
		removed, err = h.releaseClassic(vlan, force, jobErr)
	}
	if err != nil {
		return false, fmt.Errorf("release VLAN %d: %w", vlan, err)
	}
	if removed {
		h.log.Info("released", "vlan", vlan)
	}
	return removed, nil
}

// jobOf names a job whose job file names VLAN vlan ("": none).
func (h *Host) jobOf(vlan int) (string, error) {
	jobs, err := hostjob.ReadAll(h.cfg.StateDir)
	if err != nil {
		return "", err
	}
	for _, j := range jobs {
		if j.VLAN == vlan {
			return j.Job, nil
		}
	}
	return "", nil
}

// vlanOfPort reads iface and says which managed VLAN it is a port of
// (0: none, or no such interface).
func (h *Host) vlanOfPort(iface string) (netlink.Link, int, error) {
	link, err := h.linkByName(iface)
	if err != nil || link == nil {
		return link, 0, err
	}
	v, err := h.vlanOfMaster(link)
	if err != nil {
		return nil, 0, err
	}
	return link, v, nil
}

// vlanOfMaster says which managed VLAN link is a port of (0: none), from
// the name of its bridge.
func (h *Host) vlanOfMaster(link netlink.Link) (int, error) {
	if link.Attrs().MasterIndex == 0 {
		return 0, nil
	}
	master, err := h.getLink("", link.Attrs().MasterIndex)
	if err != nil {
		return 0, fmt.Errorf("read its bridge: %w", err)
	}
	if master == nil {
		return 0, nil // the bridge went away meanwhile
	}
	name := master.Attrs().Name
	unmanaged := fmt.Errorf("it is in bridge %q, which vc-dom0 does not manage: %w", name, ErrConflict)
	if h.cfg.Mode == ModeVLANAware {
		if name != h.cfg.Bridge {
			return 0, unmanaged
		}
		return h.portPVID(link)
	}
	v, err := h.VLANOfBridge(name)
	if err != nil {
		return 0, unmanaged
	}
	return v, nil
}

func (h *Host) detachLink(link netlink.Link) error {
	group := -1
	if link.Attrs().Group == GuestGroup {
		group = 0
	}
	if err := h.apply(link, change{master: 0, group: group}); err != nil && !isNotFound(err) {
		return fmt.Errorf("leave bridge: %w", err)
	}
	return nil
}
