package dom0

import (
	"context"
	"fmt"
	"sort"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"

	"github.com/virtcloud/virtcloud/internal/hostjob"
)

// VLANStatus is what this host holds for one VLAN.
type VLANStatus struct {
	VLAN   int    `json:"vlan"`
	Bridge string `json:"bridge,omitempty"`
	// Device is the VLAN device on the trunk (classic mode).
	Device string `json:"device,omitempty"`
	// Ports are the guest interfaces in the VLAN.
	Ports []string `json:"ports"`
	// Jobs are the job files naming the VLAN.
	Jobs []string `json:"jobs"`
}

// Status lists every VLAN with a device, a guest port or a job file on this
// host, sorted by VLAN.
func (h *Host) Status(_ context.Context) ([]VLANStatus, error) {
	byVLAN := map[int]*VLANStatus{}
	get := func(v int) *VLANStatus {
		s := byVLAN[v]
		if s == nil {
			s = &VLANStatus{VLAN: v, Ports: []string{}, Jobs: []string{}}
			byVLAN[v] = s
		}
		return s
	}
	links, err := h.linkList()
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if h.cfg.Mode == ModeVLANAware {
		err = h.statusAware(links, get)
	} else {
		h.statusClassic(links, get)
	}
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	jobs, err := hostjob.ReadAll(h.cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	for _, j := range jobs {
		s := get(j.VLAN)
		s.Jobs = append(s.Jobs, j.Job)
	}
	out := make([]VLANStatus, 0, len(byVLAN))
	for _, s := range byVLAN {
		sort.Strings(s.Ports)
		out = append(out, *s)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].VLAN < out[b].VLAN })
	return out, nil
}

func (h *Host) statusClassic(links []netlink.Link, get func(int) *VLANStatus) {
	trunk := -1
	for _, l := range links {
		if l.Attrs().Name == h.cfg.Trunk {
			trunk = l.Attrs().Index
		}
	}
	for _, l := range links {
		name := l.Attrs().Name
		if v, ok := l.(*netlink.Vlan); ok && v.ParentIndex == trunk && name == h.VLANDevice(v.VlanId) {
			get(v.VlanId).Device = name
		}
		if l.Type() != "bridge" {
			continue
		}
		vlan, err := h.VLANOfBridge(name)
		if err != nil {
			continue
		}
		s := get(vlan)
		s.Bridge = name
		for _, p := range portsOf(links, l.Attrs().Index) {
			if p.Attrs().Name != h.VLANDevice(vlan) {
				s.Ports = append(s.Ports, p.Attrs().Name)
			}
		}
	}
}

func (h *Host) statusAware(links []netlink.Link, get func(int) *VLANStatus) error {
	names := map[int32]string{}
	brIndex := int32(-1)
	for _, l := range links {
		names[int32(l.Attrs().Index)] = l.Attrs().Name
		if l.Attrs().Name == h.cfg.Bridge {
			brIndex = int32(l.Attrs().Index)
		}
	}
	if brIndex < 0 {
		return nil
	}
	all, err := h.bridgeVLANs()
	if err != nil {
		return err
	}
	for idx, infos := range all {
		if idx == brIndex {
			continue
		}
		for _, vi := range infos {
			s := get(int(vi.Vid))
			s.Bridge = h.cfg.Bridge
			if names[idx] != h.cfg.Trunk && vi.Flags&nl.BRIDGE_VLAN_INFO_PVID != 0 {
				s.Ports = append(s.Ports, names[idx])
			}
		}
	}
	return nil
}

// Placement is one live lease's VLAN on this host.
type Placement struct {
	Job  string
	VLAN int
}

// GC removes the job files of jobs not in live and everything of VLANs that
// no live placement names, detaching guests still in them. The caller must
// have asked the lease server: live is the complete list for this host.
// It returns the VLANs it removed.
func (h *Host) GC(ctx context.Context, live []Placement) ([]int, error) {
	keepJob := map[Placement]bool{}
	keepVLAN := map[int]bool{}
	for _, p := range live {
		keepJob[p] = true
		keepVLAN[p.VLAN] = true
	}
	jobs, err := hostjob.ReadAll(h.cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	for _, j := range jobs {
		if !keepJob[Placement{j.Job, j.VLAN}] {
			if err := hostjob.Remove(h.cfg.StateDir, j.Job); err != nil {
				return nil, fmt.Errorf("gc: %w", err)
			}
			h.log.Info("removed stale job file", "job", j.Job, "vlan", j.VLAN)
		}
	}
	st, err := h.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	var removed []int
	for _, s := range st {
		if keepVLAN[s.VLAN] {
			continue
		}
		unlock, err := h.lock(ctx, s.VLAN)
		if err != nil {
			return removed, fmt.Errorf("gc: %w", err)
		}
		did, err := h.releaseLocked(ctx, s.VLAN, true)
		unlock()
		if err != nil {
			return removed, fmt.Errorf("gc: %w", err)
		}
		if did {
			removed = append(removed, s.VLAN)
		}
	}
	return removed, nil
}
