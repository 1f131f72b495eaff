package dom0

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
)

// ensureAware makes the one VLAN-filtering bridge (vlan_default_pvid 0, so no
// port ever lands in VLAN 1 by default), puts the trunk in it and makes the
// trunk a tagged member of VLAN vlan.
func (h *Host) ensureAware(ctx context.Context, vlan int) (plumbing, error) {
	trunk, err := h.trunk()
	if err != nil {
		return plumbing{}, err
	}
	name := h.cfg.Bridge
	br, err := h.linkByName(name)
	if err != nil {
		return plumbing{}, err
	}
	if br == nil {
		on, pvid := true, uint16(0)
		br, err = h.addLink(ctx, &netlink.Bridge{
			LinkAttrs:     netlink.LinkAttrs{Name: name, MTU: trunk.Attrs().MTU},
			VlanFiltering: &on, VlanDefaultPVID: &pvid,
		})
		if err != nil {
			return plumbing{}, err
		}
		h.log.Info("created", "bridge", name, "vlan_filtering", true)
	}
	if err := h.checkAwareBridge(br); err != nil {
		return plumbing{}, err
	}
	switch m := trunk.Attrs().MasterIndex; m {
	case br.Attrs().Index:
	case 0:
		if err := h.nl.LinkSetMaster(trunk, br); err != nil {
			return plumbing{}, fmt.Errorf("add trunk %s to %s: %w", h.cfg.Trunk, name, err)
		}
	default:
		return plumbing{}, fmt.Errorf("trunk %s is already a port of another bridge (index %d): %w", h.cfg.Trunk, m, ErrConflict)
	}
	if err := h.nl.BridgeVlanAdd(trunk, uint16(vlan), false, false, false, true); err != nil {
		return plumbing{}, fmt.Errorf("add VLAN %d to trunk %s: %w", vlan, h.cfg.Trunk, err)
	}
	for _, l := range []netlink.Link{trunk, br} {
		if err := h.setUp(l); err != nil {
			return plumbing{}, err
		}
	}
	return plumbing{bridge: br, trunk: trunk}, nil
}

func (h *Host) checkAwareBridge(br netlink.Link) error {
	name := br.Attrs().Name
	b, ok := br.(*netlink.Bridge)
	if !ok {
		return fmt.Errorf("%q already exists but is a %s, not a bridge: %w", name, br.Type(), ErrConflict)
	}
	if b.VlanFiltering == nil || !*b.VlanFiltering {
		return fmt.Errorf("%q already exists without VLAN filtering: %w", name, ErrConflict)
	}
	if b.VlanDefaultPVID != nil && *b.VlanDefaultPVID != 0 {
		return fmt.Errorf("%q already exists with vlan_default_pvid %d, not 0 (guests would land in that VLAN): %w", name, *b.VlanDefaultPVID, ErrConflict)
	}
	return nil
}

// attachAware makes link a port of the bridge that is an untagged member of
// exactly VLAN vlan with that VLAN as its PVID, and returns the VLAN it was
// in before (0: none).
func (h *Host) attachAware(vlan int, link, bridge, trunk netlink.Link) (int, error) {
	var old int
	var stale []uint16
	if link.Attrs().MasterIndex == bridge.Attrs().Index {
		// Already a port (libvirt enslaves taps itself): drop other VLANs.
		all, err := h.bridgeVLANs()
		if err != nil {
			return 0, err
		}
		infos := all[int32(link.Attrs().Index)]
		old = pvidOf(infos)
		for _, vi := range infos {
			if int(vi.Vid) != vlan {
				stale = append(stale, vi.Vid)
			}
		}
	}
	if err := h.apply(link, change{mtu: trunk.Attrs().MTU, master: bridge.Attrs().Index, group: -1, up: true}); err != nil {
		return 0, err
	}
	if err := h.nl.BridgeVlanAdd(link, uint16(vlan), true, true, false, true); err != nil {
		return 0, fmt.Errorf("set port VLAN %d: %w", vlan, err)
	}
	for _, vid := range stale {
		if err := h.nl.BridgeVlanDel(link, vid, false, false, false, true); err != nil && !isNotFound(err) {
			return 0, fmt.Errorf("remove port from VLAN %d: %w", vid, err)
		}
	}
	return old, nil
}

// portPVID is the VLAN a port of the vlan-aware bridge is in (0: none).
func (h *Host) portPVID(link netlink.Link) (int, error) {
	all, err := h.bridgeVLANs()
	if err != nil {
		return 0, err
	}
	return pvidOf(all[int32(link.Attrs().Index)]), nil
}

func pvidOf(infos []*nl.BridgeVlanInfo) int {
	for _, vi := range infos {
		if vi.Flags&nl.BRIDGE_VLAN_INFO_PVID != 0 {
			return int(vi.Vid)
		}
	}
	return 0
}

// releaseAware takes VLAN vlan off the trunk when no guest port is in it
// (force: detaching those guests first). The bridge itself stays: it holds
// the trunk. jobErr, from job files that could not be read, stops it before
// it removes anything.
func (h *Host) releaseAware(vlan int, force bool, jobErr error) (bool, error) {
	br, err := h.linkByName(h.cfg.Bridge)
	if err != nil || br == nil {
		return false, err
	}
	trunk, err := h.trunk()
	if err != nil {
		return false, err
	}
	all, err := h.bridgeVLANs()
	if err != nil {
		return false, err
	}
	onTrunk := false
	for idx, infos := range all {
		for _, vi := range infos {
			if int(vi.Vid) != vlan {
				continue
			}
			switch {
			case int(idx) == trunk.Attrs().Index:
				onTrunk = true
			case int(idx) == br.Attrs().Index:
			case !force:
				return false, nil
			default:
				port, err := h.getLink("", int(idx))
				if err != nil {
					return false, fmt.Errorf("read port %d: %w", idx, err)
				}
				if port == nil {
					continue
				}
				if err := h.detachLink(port); err != nil {
					return false, fmt.Errorf("detach %s: %w", port.Attrs().Name, err)
				}
			}
		}
	}
	if !onTrunk {
		return false, nil
	}
	if jobErr != nil {
		return false, jobErr
	}
	if err := h.nl.BridgeVlanDel(trunk, uint16(vlan), false, false, false, true); err != nil && !isNotFound(err) {
		return false, fmt.Errorf("remove VLAN %d from trunk %s: %w", vlan, h.cfg.Trunk, err)
	}
	return true, nil
}
