package dom0

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
)

// ensureClassic makes <trunk>.<N> and br<N>, the VLAN device a port of the
// bridge, both up with the trunk's MTU. Existing objects are checked before
// anything is created, so a conflict changes nothing; a failure after a
// create removes what this call created.
func (h *Host) ensureClassic(ctx context.Context, vlan int) (_ plumbing, err error) {
	trunk, err := h.trunk()
	if err != nil {
		return plumbing{}, err
	}
	brName, devName := h.BridgeName(vlan), h.VLANDevice(vlan)
	br, err := h.linkByName(brName)
	if err != nil {
		return plumbing{}, err
	}
	dev, err := h.linkByName(devName)
	if err != nil {
		return plumbing{}, err
	}
	if err := h.checkClassic(vlan, trunk, br, dev); err != nil {
		return plumbing{}, err
	}
	var created []string
	defer func() {
		if err != nil {
			for _, n := range created {
				if derr := h.delLink(n); derr != nil {
					h.log.Warn("undo failed", "link", n, "err", derr)
				}
			}
		}
	}()
	mtu := trunk.Attrs().MTU
	if br == nil {
		if br, err = h.addLink(ctx, &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: brName, MTU: mtu}}); err != nil {
			return plumbing{}, err
		}
		created = append(created, brName)
		if err := h.checkClassic(vlan, trunk, br, dev); err != nil {
			return plumbing{}, err
		}
	}
	if dev == nil {
		v := &netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: devName, ParentIndex: trunk.Attrs().Index, MTU: mtu}, VlanId: vlan}
		if dev, err = h.addLink(ctx, v); err != nil {
			return plumbing{}, err
		}
		created = append(created, devName)
		if err := h.checkClassic(vlan, trunk, br, dev); err != nil {
			return plumbing{}, err
		}
	}
	if err := h.setMTU(dev, mtu); err != nil {
		return plumbing{}, err
	}
	if dev.Attrs().MasterIndex != br.Attrs().Index {
		if err := h.nl.LinkSetMaster(dev, br); err != nil {
			return plumbing{}, fmt.Errorf("add %s to %s: %w", devName, brName, err)
		}
	}
	for _, l := range []netlink.Link{trunk, dev, br} {
		if err := h.setUp(l); err != nil {
			return plumbing{}, err
		}
	}
	if err := h.ensureGuard(ctx); err != nil {
		return plumbing{}, err
	}
	if len(created) > 0 {
		h.log.Info("created", "vlan", vlan, "bridge", brName, "device", devName)
	}
	return plumbing{bridge: br, trunk: trunk}, nil
}

// addLink creates l; when it appeared meanwhile ("file exists"), the existing
// link is returned for the caller to check. The first link of a kind since
// boot may have to wait for its module.
func (h *Host) addLink(ctx context.Context, l netlink.Link) (netlink.Link, error) {
	name := l.Attrs().Name
	add := func() error {
		if err := h.nl.LinkAdd(l); err != nil && !isExist(err) {
			return err
		}
		return nil
	}
	if err := whileModuleLoads(ctx, linkKindLoading, add); err != nil {
		return nil, fmt.Errorf("create %s %s: %w", l.Type(), name, err)
	}
	got, err := h.linkByName(name)
	if err != nil {
		return nil, err
	}
	if got == nil {
		return nil, fmt.Errorf("create %s: gone right after creation", name)
	}
	return got, nil
}

// checkClassic refuses objects of the wrong kind: a bridge name held by
// another kind of link, a VLAN device name held by anything but VLAN n on the
// trunk, a bridge already carrying another VLAN device, a VLAN device in
// another bridge.
func (h *Host) checkClassic(vlan int, trunk, br, dev netlink.Link) error {
	if br != nil && br.Type() != "bridge" {
		return fmt.Errorf("%q already exists but is a %s, not a bridge: %w", br.Attrs().Name, br.Type(), ErrConflict)
	}
	if dev != nil {
		v, ok := dev.(*netlink.Vlan)
		if !ok || v.VlanId != vlan || v.ParentIndex != trunk.Attrs().Index {
			return fmt.Errorf("%q already exists but is not VLAN %d on %s: %w", dev.Attrs().Name, vlan, h.cfg.Trunk, ErrConflict)
		}
		if m := dev.Attrs().MasterIndex; m != 0 && (br == nil || m != br.Attrs().Index) {
			return fmt.Errorf("%q is already a port of another bridge (index %d): %w", dev.Attrs().Name, m, ErrConflict)
		}
	}
	if br == nil || (dev != nil && dev.Attrs().MasterIndex == br.Attrs().Index) {
		return nil
	}
	ports, err := h.ports(br)
	if err != nil {
		return err
	}
	for _, p := range ports {
		if v, ok := p.(*netlink.Vlan); ok {
			return fmt.Errorf("%q already bridges VLAN %d (%s), not VLAN %d: %w", br.Attrs().Name, v.VlanId, p.Attrs().Name, vlan, ErrConflict)
		}
		if p.Attrs().Name == h.cfg.Trunk {
			return fmt.Errorf("%q already bridges the trunk %s itself: %w", br.Attrs().Name, h.cfg.Trunk, ErrConflict)
		}
	}
	return nil
}

func (h *Host) attachClassic(link, bridge, trunk netlink.Link) error {
	return h.apply(link, change{mtu: trunk.Attrs().MTU, master: bridge.Attrs().Index, group: GuestGroup, up: true})
}

// releaseClassic deletes br<N> and <trunk>.<N> when no guest port is left
// (force: detaching the guests first). jobErr, from job files that could not
// be read, stops it before it deletes anything.
func (h *Host) releaseClassic(vlan int, force bool, jobErr error) (bool, error) {
	brName, devName := h.BridgeName(vlan), h.VLANDevice(vlan)
	br, err := h.linkByName(brName)
	if err != nil {
		return false, err
	}
	if br != nil {
		if br.Type() != "bridge" {
			return false, fmt.Errorf("%q is a %s, not a bridge: %w", brName, br.Type(), ErrConflict)
		}
		ports, err := h.ports(br)
		if err != nil {
			return false, err
		}
		for _, p := range ports {
			if p.Attrs().Name == devName {
				continue
			}
			if !force {
				h.log.Debug("kept: guest port in use", "vlan", vlan, "port", p.Attrs().Name)
				return false, nil
			}
			if err := h.detachLink(p); err != nil {
				return false, fmt.Errorf("detach %s: %w", p.Attrs().Name, err)
			}
		}
	}
	dev, err := h.linkByName(devName)
	if err != nil {
		return false, err
	}
	if dev != nil {
		if v, ok := dev.(*netlink.Vlan); !ok || v.VlanId != vlan {
			return false, fmt.Errorf("%q is not VLAN %d's device, left alone: %w", devName, vlan, ErrConflict)
		}
	}
	if br == nil && dev == nil {
		return false, nil
	}
	if jobErr != nil {
		return false, jobErr
	}
	if br != nil {
		if err := h.delLink(brName); err != nil {
			return false, err
		}
	}
	if dev != nil {
		if err := h.delLink(devName); err != nil {
			return false, err
		}
	}
	return true, nil
}
