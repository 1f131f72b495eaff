package cli

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"

	"github.com/virtcloud/virtcloud/dom0"
)

// MetadataNS is the namespace of vc-dom0's element in a libvirt domain's
// <metadata>: <vc:network xmlns:vc="urn:x-virtcloud:dom0:1" vlan="100"/>
// names the VLAN of the domain's interfaces on the vlan-aware bridge.
const MetadataNS = "urn:x-virtcloud:dom0:1"

type domainXML struct {
	Name     string `xml:"name"`
	Metadata struct {
		Items []struct {
			XMLName xml.Name
			VLAN    string `xml:"vlan,attr"`
		} `xml:",any"`
	} `xml:"metadata"`
	Interfaces []struct {
		Type   string `xml:"type,attr"`
		Source struct {
			Bridge string `xml:"bridge,attr"`
		} `xml:"source"`
		Target struct {
			Dev string `xml:"dev,attr"`
		} `xml:"target"`
	} `xml:"devices>interface"`
}

// Port is one interface of a domain that vc-dom0 looks after.
type Port struct {
	VLAN int
	Dev  string // "" until libvirt made the tap (before "started")
}

// DomainPorts reads a domain's XML and returns the interfaces in VirtCloud
// VLANs: in classic mode those on a bridge following the bridge pattern, in
// vlan-aware mode those on the vlan-aware bridge, whose VLAN then comes from
// the <vc:network vlan="N"/> metadata element.
func DomainPorts(r io.Reader, h *dom0.Host, awareBridge string) (string, []Port, error) {
	var d domainXML
	if err := xml.NewDecoder(r).Decode(&d); err != nil {
		return "", nil, fmt.Errorf("read domain XML on stdin: %w", err)
	}
	metaVLAN := 0
	for _, it := range d.Metadata.Items {
		if it.XMLName.Space != MetadataNS || it.XMLName.Local != "network" {
			continue
		}
		v, err := strconv.Atoi(it.VLAN)
		if err != nil {
			return d.Name, nil, fmt.Errorf("domain %s: <network vlan=%q> in the %s metadata is not a VLAN ID", d.Name, it.VLAN, MetadataNS)
		}
		metaVLAN = v
	}
	var ports []Port
	for _, itf := range d.Interfaces {
		if itf.Type != "bridge" {
			continue
		}
		br := itf.Source.Bridge
		switch {
		case h.Mode() == dom0.ModeVLANAware && br == awareBridge:
			if metaVLAN == 0 {
				return d.Name, nil, fmt.Errorf("domain %s: an interface is on %s but the metadata names no VLAN (<vc:network xmlns:vc=%q vlan=\"N\"/>)", d.Name, br, MetadataNS)
			}
			ports = append(ports, Port{VLAN: metaVLAN, Dev: itf.Target.Dev})
		case h.Mode() == dom0.ModeClassic:
			if v, err := h.VLANOfBridge(br); err == nil {
				ports = append(ports, Port{VLAN: v, Dev: itf.Target.Dev})
			}
		}
	}
	return d.Name, ports, nil
}

// libvirtHook handles /etc/libvirt/hooks/qemu (or libxl) calls. A failure at
// prepare makes libvirt refuse to start the domain, which is what should
// happen when its VLAN cannot be set up.
func libvirtHook(e *env, args []string) error {
	if len(args) < 2 {
		return usageError{"libvirt-hook: want OBJECT OPERATION [SUBOPERATION EXTRA] as libvirt passes them"}
	}
	op := args[1]
	if op != "prepare" && op != "started" && op != "release" {
		return nil
	}
	name, ports, err := DomainPorts(e.c.App.Reader, e.host, e.cfg.Bridge)
	if err != nil {
		return err
	}
	seen := map[int]bool{}
	for _, p := range ports {
		switch op {
		case "prepare":
			if !seen[p.VLAN] {
				if _, err := e.host.Ensure(e.ctx, p.VLAN); err != nil {
					return fmt.Errorf("domain %s: %w", name, err)
				}
			}
		case "started":
			if p.Dev == "" {
				return fmt.Errorf("domain %s: an interface in VLAN %d has no <target dev=...>", name, p.VLAN)
			}
			if err := e.host.Attach(e.ctx, p.VLAN, p.Dev); err != nil {
				return fmt.Errorf("domain %s: %w", name, err)
			}
		case "release":
			if !seen[p.VLAN] {
				if err := e.host.Release(e.ctx, p.VLAN); err != nil {
					return fmt.Errorf("domain %s: %w", name, err)
				}
			}
		}
		seen[p.VLAN] = true
	}
	return nil
}
