package sshemu

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// onyxDev models NVIDIA/Mellanox Onyx (MLNX-OS 3.8-3.10 on SN2000/SN3000
// Spectrum switches), written from the Onyx User Manual ("vlan <vlan-id>",
// "name", "no vlan"; "interface ethernet 1/1 switchport mode { access |
// trunk | hybrid }", "switchport trunk allowed-vlan { add | remove | none |
// all } <vlan>" — a trunk allows every VLAN until told otherwise;
// interface commands given whole from the config mode; "no cli session
// paging enable"; "configuration write"; errors "% Unrecognized command
// ..." and "% ..."), and the networking-generic-switch MLNX-OS device's
// command sequences. Its running configuration lists one-line commands
// under "##" headers, ports as "ethernet 1/1", prompts "switch (config) #".
type onyxDev struct {
	cfg *Config
	trunkTable
}

func newOnyx(cfg *Config) *onyxDev {
	if len(cfg.Ports) == 0 {
		cfg.Ports = defaultPorts("Eth1/", 1)
	}
	d := &onyxDev{cfg: cfg, trunkTable: trunkTable{vlans: map[int]string{1: ""}, ports: map[string]*iosPort{}}}
	for _, p := range cfg.Ports {
		d.ports[p] = &iosPort{mode: "trunk", access: 1, allowed: vlanSet{1: true}}
		d.order = append(d.order, p)
	}
	return d
}

func (d *onyxDev) prompt(c *cli) string {
	if c.mode == "" {
		c.mode, c.more = "enable", "lines 1-24 "
	}
	h := d.cfg.Hostname
	switch c.mode {
	case "config":
		return h + " (config) # "
	case "vlan":
		return fmt.Sprintf("%s (config vlan %d) # ", h, c.vlan)
	case "if":
		return h + " (config interface ethernet " + strings.TrimPrefix(c.ports[0], "Eth") + ") # "
	}
	return h + " # "
}

func (d *onyxDev) genericError(c *cli, line string) string {
	return "% Unrecognized command \"" + strings.Fields(line)[0] + "\".\nType \"?\" for help.\n"
}

func (d *onyxDev) portError(c *cli, line, port string) string {
	return "% Interface " + port + " does not exist\n"
}

// portsOf reads "1/1" or "1/1-1/4" after "interface ethernet".
func (d *onyxDev) portsOf(spec string) ([]string, bool) {
	lo, hi, isRange := strings.Cut(spec, "-")
	if !isRange {
		p := "Eth" + lo
		return []string{p}, d.ports[p] != nil
	}
	pl, a, _ := splitNum(lo)
	ph, b, _ := splitNum(hi)
	if pl != ph || b < a {
		return nil, false
	}
	var out []string
	for n := a; n <= b; n++ {
		p := "Eth" + pl + strconv.Itoa(n)
		if d.ports[p] == nil {
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

// portsIn names the ports a command line writes as "ethernet 1/1".
func (d *onyxDev) portsIn(line string) []string {
	f := strings.Fields(line)
	var out []string
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "ethernet" {
			if ps, ok := d.portsOf(f[i+1]); ok {
				out = append(out, ps...)
			}
		}
	}
	return out
}

func (d *onyxDev) run(c *cli, line string) (string, bool) {
	f := strings.Fields(line)
	if quit, ok := leave(c, f[0], "enable", false); ok {
		return "", quit
	}
	switch {
	case line == "show running-config":
		return d.running(), false
	}
	if c.mode == "enable" {
		switch line {
		case "enable":
			return "", false
		case "no cli session paging enable":
			c.paging = false
			return "", false
		case "configure terminal":
			c.mode = "config"
			return "", false
		case "configuration write":
			return "", false
		}
		return d.genericError(c, line), false
	}
	vid := func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 1 && n <= 4094
	}
	switch {
	case f[0] == "vlan" && len(f) == 2:
		id, ok := vid(f[1])
		if !ok {
			return "% 1st VLAN ID must be between 1 and 4094\n", false
		}
		if _, ok := d.vlans[id]; !ok {
			d.vlans[id] = ""
		}
		c.mode, c.vlan = "vlan", id
		return "", false
	case f[0] == "vlan" && len(f) >= 4 && f[2] == "name":
		// A whole command: enter the VLAN's mode (creating it), name it, return.
		id, ok := vid(f[1])
		if !ok {
			return "% 1st VLAN ID must be between 1 and 4094\n", false
		}
		d.vlans[id] = strings.Trim(strings.Join(f[3:], " "), `"`)
		return "", false
	case c.mode == "vlan" && f[0] == "name" && len(f) >= 2:
		d.vlans[c.vlan] = strings.Trim(strings.Join(f[1:], " "), `"`)
		return "", false
	case f[0] == "no" && len(f) == 3 && f[1] == "vlan":
		id, ok := vid(f[2])
		if !ok || id == 1 {
			return "% Cannot delete default VLAN\n", false
		}
		delete(d.vlans, id)
		return "", false
	case f[0] == "interface" && len(f) >= 3 && strings.HasPrefix("ethernet", f[1]):
		ps, ok := d.portsOf(f[2])
		if !ok {
			return d.portError(c, line, "ethernet "+f[2]), false
		}
		if len(f) == 3 {
			c.mode, c.ports = "if", ps
			return "", false
		}
		return d.switchport(ps, f[3:]), false
	case c.mode == "if":
		return d.switchport(c.ports, f), false
	}
	return d.genericError(c, line), false
}

func (d *onyxDev) switchport(ports []string, f []string) string {
	switch {
	case len(f) == 3 && f[0] == "switchport" && f[1] == "mode":
		for _, p := range ports {
			d.ports[p].mode = f[2]
		}
		return ""
	case len(f) >= 3 && f[0] == "switchport" && f[1] == "trunk" && f[2] == "allowed-vlan":
		if len(f) == 4 && (f[3] == "none" || f[3] == "all") {
			for _, p := range ports {
				if f[3] == "none" {
					d.ports[p].allowed = vlanSet{}
				} else {
					d.ports[p].allowed = nil
				}
			}
			return ""
		}
		if len(f) != 5 || f[3] != "add" && f[3] != "remove" {
			return "% Incomplete command.\n"
		}
		ids, ok := parseList(f[4])
		if !ok {
			return "% 1st VLAN ID must be between 1 and 4094\n"
		}
		for _, p := range ports {
			pt := d.ports[p]
			if pt.mode != "trunk" {
				return "% Interface " + p + " is not in trunk mode\n"
			}
			if pt.allowed == nil {
				pt.allowed = vlanSet{}
				for id := range d.vlans {
					pt.allowed[id] = true
				}
			}
			for _, id := range ids {
				if f[3] == "add" {
					if _, ok := d.vlans[id]; !ok {
						return fmt.Sprintf("%% VLAN %d does not exist\n", id)
					}
					pt.allowed[id] = true
				} else {
					delete(pt.allowed, id)
				}
			}
		}
		return ""
	}
	return "% Unrecognized command \"" + strings.Join(f, " ") + "\".\nType \"?\" for help.\n"
}

// running prints `show running-config`: "##" section headers, one-line
// interface commands (consecutive ports with the same line joined as a
// range "1/1-1/4"), then the VLANs.
func (d *onyxDev) running() string {
	var b strings.Builder
	b.WriteString("##\n## Running database \"initial\"\n## Generated at 2026/12/01 10:12:31 +0000\n## Hostname: " + d.cfg.Hostname + "\n## Product release: 3.10.2002\n##\n\n")
	b.WriteString("##\n## Interface Ethernet configuration\n##\n")
	var lines []string
	var owner [][]string
	for _, name := range d.order {
		p := d.ports[name]
		var ls []string
		ls = append(ls, "switchport mode "+p.mode)
		if p.mode == "trunk" && p.allowed != nil {
			ls = append(ls, "switchport trunk allowed-vlan none")
			for _, id := range p.allowed.ids() {
				ls = append(ls, "switchport trunk allowed-vlan add "+strconv.Itoa(id))
			}
		}
		for _, l := range ls {
			if k := slices.Index(lines, l); k >= 0 {
				owner[k] = append(owner[k], name)
				continue
			}
			lines, owner = append(lines, l), append(owner, []string{name})
		}
	}
	for k, l := range lines {
		for _, r := range d.runs(owner[k]) {
			fmt.Fprintf(&b, "   interface ethernet %s %s\n", r, l)
		}
	}
	b.WriteString("\n##\n## VLAN configuration\n##\n")
	ids := slices.Sorted(maps.Keys(d.vlans))
	for _, id := range ids {
		if id == 1 {
			continue
		}
		fmt.Fprintf(&b, "   vlan %d\n", id)
		if n := d.vlans[id]; n != "" {
			fmt.Fprintf(&b, "   vlan %d name \"%s\"\n", id, n)
		}
	}
	b.WriteString("\n##\n## Persistent prefix mode setting\n##\n   cli default prefix-modes enable\n")
	return b.String()
}

// runs writes ports (in device order) as "1/1-1/4" ranges.
func (d *onyxDev) runs(ports []string) []string {
	var out []string
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && slices.Index(d.order, ports[j+1]) == slices.Index(d.order, ports[j])+1 {
			j++
		}
		r := strings.TrimPrefix(ports[i], "Eth")
		if j > i {
			r += "-" + strings.TrimPrefix(ports[j], "Eth")
		}
		out = append(out, r)
		i = j + 1
	}
	return out
}
