package sshemu

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// os10Dev models Dell SmartFabric OS10 (10.5), written from the OS10 User
// Guide ("interface vlan vlan-id" creates a VLAN and "no interface vlan"
// deletes it, "description"; "switchport mode trunk", "switchport trunk
// allowed vlan vlan-id-list" adding to the list and its no form removing
// from it, a trunk carrying no tagged VLAN until told; "interface range
// ethernet 1/1/1-1/1/4,1/1/7"; "show running-configuration" with
// interface vlanN and ethernetN/N/N sections; "write memory"; "terminal
// length 0"; errors "% Error: ...") and the networking-generic-switch
// Dell OS10 device's command sequences. Ports are named ethernet1/1/1.
type os10Dev struct {
	cfg   *Config
	vlans map[int]string // description
	ports map[string]*iosPort
	order []string
}

func newOS10(cfg *Config) *os10Dev {
	if len(cfg.Ports) == 0 {
		cfg.Ports = defaultPorts("ethernet1/1/", 1)
	}
	d := &os10Dev{cfg: cfg, vlans: map[int]string{1: ""}, ports: map[string]*iosPort{}}
	for _, p := range cfg.Ports {
		d.ports[p] = &iosPort{mode: "trunk", access: 1, allowed: vlanSet{}}
		d.order = append(d.order, p)
	}
	return d
}

func (d *os10Dev) prompt(c *cli) string {
	if c.mode == "" {
		c.mode, c.more = "exec", "--more--"
	}
	h := d.cfg.Hostname
	switch c.mode {
	case "config":
		return h + "(config)# "
	case "vlan":
		return fmt.Sprintf("%s(conf-if-vl-%d)# ", h, c.vlan)
	case "if":
		if len(c.ports) > 1 {
			return h + "(conf-range-eth" + strings.TrimPrefix(c.ports[0], "ethernet") + "-" + strings.TrimPrefix(c.ports[len(c.ports)-1], "ethernet") + ")# "
		}
		return h + "(conf-if-eth" + strings.TrimPrefix(c.ports[0], "ethernet") + ")# "
	}
	return h + "# "
}

func (d *os10Dev) genericError(c *cli, line string) string {
	return "% Error: Unrecognized command.\n"
}

func (d *os10Dev) portError(c *cli, line, port string) string {
	return "% Error: Interface " + port + " is not present.\n"
}

// portList reads "ethernet1/1/1", "ethernet 1/1/1" or, with a range,
// "ethernet 1/1/1-1/1/4,1/1/7".
func (d *os10Dev) portList(spec string, isRange bool) ([]string, string, bool) {
	spec = strings.TrimSpace(spec)
	typed, rest, _ := strings.Cut(spec, " ")
	if i := strings.IndexAny(typed, "0123456789"); i > 0 {
		typed, rest = typed[:i], typed[i:]+rest
	}
	if typed == "" || !strings.HasPrefix("ethernet", strings.ToLower(typed)) {
		return nil, spec, false
	}
	rest = strings.ReplaceAll(rest, " ", "")
	items := []string{rest}
	if isRange {
		items = strings.Split(rest, ",")
	}
	var out []string
	for _, it := range items {
		lo, hi, isR := strings.Cut(it, "-")
		if !isR {
			if d.ports["ethernet"+lo] == nil {
				return nil, it, false
			}
			out = append(out, "ethernet"+lo)
			continue
		}
		pl, a, _ := splitNum(lo)
		ph, b, _ := splitNum(hi)
		if pl != ph || b < a {
			return nil, it, false
		}
		for n := a; n <= b; n++ {
			p := "ethernet" + pl + strconv.Itoa(n)
			if d.ports[p] == nil {
				return nil, it, false
			}
			out = append(out, p)
		}
	}
	return out, "", len(out) > 0
}

func (d *os10Dev) run(c *cli, line string) (string, bool) {
	f := strings.Fields(line)
	if quit, ok := leave(c, f[0], "exec", true); ok {
		return "", quit
	}
	switch {
	case line == "show running-configuration":
		return d.running(), false
	}
	if c.mode == "exec" {
		switch line {
		case "terminal length 0":
			c.paging = false
			return "", false
		case "configure terminal":
			c.mode = "config"
			return "", false
		case "write memory", "copy running-configuration startup-configuration":
			return "", false
		}
		return d.genericError(c, line), false
	}
	vlanID := func(s string) (int, bool) {
		s = strings.TrimPrefix(s, "vlan")
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 1 && n <= 4093
	}
	switch {
	case f[0] == "interface" && len(f) >= 2 && strings.HasPrefix(f[1], "vlan"):
		id, ok := vlanID(strings.Join(f[1:], ""))
		if !ok {
			return "% Error: Invalid VLAN ID.\n", false
		}
		if _, ok := d.vlans[id]; !ok {
			d.vlans[id] = ""
		}
		c.mode, c.vlan = "vlan", id
		return "", false
	case f[0] == "no" && len(f) >= 3 && f[1] == "interface" && strings.HasPrefix(f[2], "vlan"):
		id, ok := vlanID(strings.Join(f[2:], ""))
		if !ok {
			return "% Error: Invalid VLAN ID.\n", false
		}
		if id == 1 {
			return "% Error: Default VLAN cannot be deleted.\n", false
		}
		delete(d.vlans, id)
		for _, p := range d.ports {
			delete(p.allowed, id)
		}
		return "", false
	case f[0] == "interface" && len(f) >= 2:
		isRange := f[1] == "range"
		spec := strings.TrimSpace(strings.TrimPrefix(line, "interface"))
		if isRange {
			spec = strings.TrimSpace(strings.TrimPrefix(spec, "range"))
		}
		ps, bad, ok := d.portList(spec, isRange)
		if !ok {
			return d.portError(c, line, bad), false
		}
		c.mode, c.ports = "if", ps
		return "", false
	case c.mode == "vlan" && f[0] == "description" && len(f) >= 2:
		d.vlans[c.vlan] = strings.TrimSpace(strings.TrimPrefix(line, "description"))
		return "", false
	case c.mode == "if":
		return d.switchport(c, f), false
	}
	return d.genericError(c, line), false
}

func (d *os10Dev) switchport(c *cli, f []string) string {
	no := f[0] == "no"
	if no {
		f = f[1:]
	}
	switch {
	case len(f) == 3 && f[0] == "switchport" && f[1] == "mode" && !no:
		for _, p := range c.ports {
			d.ports[p].mode = f[2]
		}
		return ""
	case len(f) == 5 && f[0] == "switchport" && f[1] == "trunk" && f[2] == "allowed" && f[3] == "vlan":
		ids, ok := parseList(f[4])
		if !ok {
			return "% Error: Invalid VLAN list.\n"
		}
		for _, p := range c.ports {
			pt := d.ports[p]
			if pt.mode != "trunk" {
				return "% Error: Interface " + p + " is not in trunk mode.\n"
			}
			for _, id := range ids {
				if _, exists := d.vlans[id]; !exists && !no {
					return fmt.Sprintf("%% Error: VLAN %d does not exist.\n", id)
				}
				if no {
					delete(pt.allowed, id)
				} else {
					pt.allowed[id] = true
				}
			}
		}
		return ""
	}
	return "% Error: Unrecognized command.\n"
}

// running prints `show running-configuration`: a "! Version" header,
// interface vlanN sections, then ethernet sections with mode, native VLAN
// and the allowed list.
func (d *os10Dev) running() string {
	var b strings.Builder
	b.WriteString("! Version 10.5.4.2\n! Last configuration change at Dec  01 10:12:31 2026\n!\nhostname " + d.cfg.Hostname + "\n!\n")
	ids := slices.Sorted(maps.Keys(d.vlans))
	for _, id := range ids {
		fmt.Fprintf(&b, "interface vlan%d\n", id)
		if n := d.vlans[id]; n != "" {
			fmt.Fprintf(&b, " description %s\n", n)
		}
		b.WriteString(" no shutdown\n!\n")
	}
	for _, name := range d.order {
		p := d.ports[name]
		fmt.Fprintf(&b, "interface %s\n no shutdown\n", name)
		if p.mode == "trunk" {
			b.WriteString(" switchport mode trunk\n")
		}
		fmt.Fprintf(&b, " switchport access vlan %d\n", p.access)
		if p.mode == "trunk" && len(p.allowed) > 0 {
			fmt.Fprintf(&b, " switchport trunk allowed vlan %s\n", formatList(p.allowed.ids()))
		}
		b.WriteString(" flowcontrol receive off\n!\n")
	}
	b.WriteString("interface mgmt1/1/1\n no shutdown\n no ip address dhcp\n ip address 192.0.2.3/24\n!\n")
	return b.String()
}

func (d *os10Dev) table() []switchdrv.VLAN {
	var out []switchdrv.VLAN
	for id, name := range d.vlans {
		v := switchdrv.VLAN{ID: id, Name: name}
		for _, pn := range d.order {
			p := d.ports[pn]
			if p.mode == "trunk" && p.allowed[id] {
				v.Tagged = append(v.Tagged, pn)
			}
			if p.access == id {
				v.Untagged = append(v.Untagged, pn)
			}
		}
		out = append(out, v)
	}
	return sortVLANs(out)
}

func (d *os10Dev) portMode(port string) (string, bool) {
	p := d.ports[port]
	if p == nil {
		return "", false
	}
	return p.mode, true
}

func (d *os10Dev) setPortMode(port, mode string) error {
	p := d.ports[port]
	if p == nil || mode != "trunk" && mode != "access" {
		return fmt.Errorf("sshemu: no port %q or bad mode %q", port, mode)
	}
	p.mode = mode
	return nil
}

func (d *os10Dev) addVLAN(vid int, name string, tagged []string) error {
	d.vlans[vid] = name
	for _, t := range tagged {
		p := d.ports[t]
		if p == nil {
			return fmt.Errorf("sshemu: no port %q", t)
		}
		p.allowed[vid] = true
	}
	return nil
}
