//go:build !vmtest

package cli

import (
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/dom0"
	"github.com/virtcloud/virtcloud/internal/config"
)

// FuzzDomainPorts: any domain XML on the libvirt hook's stdin gives ports in
// valid VLANs or a clear error, never a panic; in both modes.
func FuzzDomainPorts(f *testing.F) {
	f.Add(`<domain><name>g1</name><devices><interface type="bridge"><source bridge="br100"/><target dev="vnet0"/></interface></devices></domain>`, false)
	f.Add(`<domain><name>g2</name><metadata><vc:network xmlns:vc="urn:x-virtcloud:dom0:1" vlan="200"/></metadata><devices><interface type="bridge"><source bridge="vcbr0"/></interface></devices></domain>`, true)
	f.Add(`<domain><metadata><vc:network xmlns:vc="urn:x-virtcloud:dom0:1" vlan="x"/></metadata></domain>`, true)
	f.Add(`<domain><devices><interface type="bridge"><source bridge="br99999"/></interface></devices></domain>`, false)
	f.Add(`<domain`, false)
	hosts := map[bool]*dom0.Host{}
	for _, aware := range []bool{false, true} {
		cfg := &config.Dom0{Trunk: "eth0", Mode: dom0.ModeClassic, StateDir: f.TempDir(), BridgePattern: "br{vid}", VLANPattern: "{trunk}.{vid}", Bridge: "vcbr0"}
		if aware {
			cfg.Mode = dom0.ModeVLANAware
		}
		h, err := dom0.New(cfg, dom0.Options{})
		if err != nil {
			f.Fatal(err)
		}
		hosts[aware] = h
	}
	f.Fuzz(func(t *testing.T, doc string, aware bool) {
		_, ports, err := DomainPorts(strings.NewReader(doc), hosts[aware], "vcbr0")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		for _, p := range ports {
			if p.VLAN < config.MinVLAN || p.VLAN > config.MaxVLAN {
				t.Fatalf("port in VLAN %d from %q", p.VLAN, doc)
			}
		}
	})
}

// FuzzVLANOfBridge: a bridge name read from xenstore (the domain's vif
// config) maps to a valid VLAN or is refused.
func FuzzVLANOfBridge(f *testing.F) {
	for _, s := range []string{"br100", "br4094", "br0", "br4095", "br", "xenbr0", "br-1", "br100\n", "br00100"} {
		f.Add(s)
	}
	h, err := dom0.New(&config.Dom0{Trunk: "eth0", Mode: dom0.ModeClassic, StateDir: f.TempDir(), BridgePattern: "br{vid}", VLANPattern: "{trunk}.{vid}", Bridge: "vcbr0"}, dom0.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		v, err := h.VLANOfBridge(name)
		if err == nil && (v < config.MinVLAN || v > config.MaxVLAN || h.BridgeName(v) != name) {
			t.Fatalf("%q read as VLAN %d (bridge of %d is %q)", name, v, v, h.BridgeName(v))
		}
	})
}
