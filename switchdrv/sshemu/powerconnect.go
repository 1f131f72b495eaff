package sshemu

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// pcDev models Dell PowerConnect 7000/8000 and Networking N-series
// (N1500/N2000/N3000/N4000; DNOS 6.x), written from the Dell Networking
// N-Series CLI Reference Guide ("vlan vlan-id" and "name" in VLAN mode, "no
// vlan"; "switchport mode { access | trunk | general }"; "switchport trunk
// allowed vlan { add | remove } vlan-list", all VLANs allowed on a trunk by
// default; "switchport general allowed vlan { add vlan-list [ tagged |
// untagged ] | remove vlan-list }"; "interface range"; "terminal length 0";
// "write memory" asking "Are you sure you want to save? (y/n)" and its
// errors "An invalid interface has been used for this function." and "%
// Invalid input detected at '^' marker.") and the networking-generic-switch
// Dell PowerConnect device's sequences. The running configuration is not
// indented: each section ends with "exit".
type pcDev struct {
	cfg   *Config
	vlans map[int]string
	ports map[string]*pcPort
	order []string
}

type pcPort struct {
	mode    string // access | trunk | general
	allowed vlanSet
	pvid    int
}

func newPowerConnect(cfg *Config) *pcDev {
	if len(cfg.Ports) == 0 {
		cfg.Ports = defaultPorts("Gi1/0/", 1)
	}
	d := &pcDev{cfg: cfg, vlans: map[int]string{1: "default"}, ports: map[string]*pcPort{}}
	for i, p := range cfg.Ports {
		mode := "trunk"
		if i%2 == 1 {
			mode = "general" // both kinds of tagged ports, as sites have them
		}
		d.ports[p] = &pcPort{mode: mode, allowed: vlanSet{1: true}, pvid: 1}
		d.order = append(d.order, p)
	}
	return d
}

func (d *pcDev) prompt(c *cli) string {
	if c.mode == "" {
		c.mode, c.more = "enable", "--More-- or (q)uit"
	}
	h := d.cfg.Hostname
	switch c.mode {
	case "config":
		return h + "(config)#"
	case "vlan":
		return fmt.Sprintf("%s(config-vlan%d)#", h, c.vlan)
	case "if":
		if len(c.ports) > 1 {
			return h + "(config-if)#"
		}
		return h + "(config-if-" + c.ports[0] + ")#"
	}
	return h + "#"
}

func (d *pcDev) genericError(c *cli, line string) string {
	return caret(d.prompt(c), line, strings.Fields(line)[0]) + "% Invalid input detected at '^' marker.\n"
}

func (d *pcDev) portError(c *cli, line, port string) string {
	return "An invalid interface has been used for this function.\n"
}

// canon reads Gi1/0/1, gi1/0/1, gigabitethernet 1/0/1.
func (d *pcDev) canon(s string) (string, bool) {
	s = strings.ReplaceAll(s, " ", "")
	i := strings.IndexAny(s, "0123456789")
	if i < 1 {
		return "", false
	}
	typed := strings.ToLower(s[:i])
	if !strings.HasPrefix("gigabitethernet", typed) || len(typed) < 2 {
		return "", false
	}
	p := "Gi" + s[i:]
	return p, d.ports[p] != nil
}

// spec reads "Gi1/0/1" or, for a range, "Gi1/0/1-4,Gi1/0/7".
func (d *pcDev) spec(s string) ([]string, bool) {
	var out []string
	for _, item := range strings.Split(s, ",") {
		first, last, isRange := strings.Cut(strings.TrimSpace(item), "-")
		p, ok := d.canon(first)
		if !ok {
			return nil, false
		}
		if !isRange {
			out = append(out, p)
			continue
		}
		prefix, a, _ := splitNum(p)
		b, err := strconv.Atoi(last)
		if err != nil || b < a {
			return nil, false
		}
		for n := a; n <= b; n++ {
			q := prefix + strconv.Itoa(n)
			if d.ports[q] == nil {
				return nil, false
			}
			out = append(out, q)
		}
	}
	return out, true
}

func (d *pcDev) run(c *cli, line string) (string, bool) {
	f := strings.Fields(line)
	if quit, ok := leave(c, f[0], "enable", true); ok {
		return "", quit
	}
	switch {
	case line == "show running-config":
		return d.running(), false
	}
	if c.mode == "enable" {
		switch line {
		case "terminal length 0":
			c.paging = false
			return "", false
		case "configure":
			c.mode = "config"
			return "", false
		case "write memory":
			c.write("\nThis operation may take a few minutes.\nManagement interfaces will not be available during this time.\n\nAre you sure you want to save? (y/n) ")
			ans, err := c.readLine(true)
			if err != nil || strings.TrimSpace(ans) != "y" {
				return "\nConfiguration Not Saved!\n", false
			}
			return "\nConfiguration Saved!\n", false
		}
		return d.genericError(c, line), false
	}
	switch {
	case f[0] == "vlan" && len(f) == 2:
		ids, ok := parseList(f[1])
		if !ok {
			return d.genericError(c, line), false
		}
		for _, id := range ids {
			if _, ok := d.vlans[id]; !ok {
				d.vlans[id] = ""
			}
		}
		c.mode, c.vlan = "vlan", ids[0]
		return "", false
	case f[0] == "no" && len(f) == 3 && f[1] == "vlan":
		id, err := strconv.Atoi(f[2])
		if err != nil || id < 2 || id > 4093 {
			return "Failed to delete VLAN.\n", false
		}
		delete(d.vlans, id)
		return "", false
	case f[0] == "interface" && len(f) >= 2:
		spec := strings.Join(f[1:], " ")
		if f[1] == "range" {
			spec = strings.Join(f[2:], " ")
		} else if strings.ContainsAny(spec, ",-") {
			return d.portError(c, line, spec), false
		}
		ps, ok := d.spec(spec)
		if !ok {
			return d.portError(c, line, spec), false
		}
		c.mode, c.ports = "if", ps
		return "", false
	case c.mode == "vlan" && f[0] == "name" && len(f) >= 2:
		d.vlans[c.vlan] = strings.Trim(strings.Join(f[1:], " "), `"`)
		return "", false
	case c.mode == "if":
		return d.switchport(c, line, f), false
	}
	return d.genericError(c, line), false
}

func (d *pcDev) switchport(c *cli, line string, f []string) string {
	switch {
	case len(f) == 3 && f[0] == "switchport" && f[1] == "mode":
		for _, p := range c.ports {
			d.ports[p].mode = f[2]
		}
		return ""
	case len(f) >= 6 && f[0] == "switchport" && (f[1] == "trunk" || f[1] == "general") && f[2] == "allowed" && f[3] == "vlan" && (f[4] == "add" || f[4] == "remove"):
		ids, ok := parseList(f[5])
		if !ok {
			return d.genericError(c, line)
		}
		if f[1] == "general" && f[4] == "add" && (len(f) != 7 || f[6] != "tagged" && f[6] != "untagged") && len(f) != 6 {
			return d.genericError(c, line)
		}
		for _, p := range c.ports {
			pt := d.ports[p]
			if pt.mode != f[1] {
				return fmt.Sprintf("Interface %s is not in %s mode.\n", p, f[1])
			}
			for _, id := range ids {
				if f[4] == "add" {
					if _, ok := d.vlans[id]; !ok {
						return fmt.Sprintf("VLAN ID %d does not exist.\n", id)
					}
					pt.allowed[id] = true
				} else {
					delete(pt.allowed, id)
				}
			}
		}
		return ""
	}
	return d.genericError(c, line)
}

// running prints `show running-config` as DNOS 6 does: a comment header, a
// VLAN list line and a section per named VLAN, unindented interface
// sections ending with "exit".
func (d *pcDev) running() string {
	var b strings.Builder
	b.WriteString("!Current Configuration:\n!System Description \"Dell Networking N3048, 6.5.4.6, Linux 4.14.174\"\n!System Software Version 6.5.4.6\n!\nconfigure\n")
	ids := slices.Sorted(maps.Keys(d.vlans))
	var others []int
	for _, id := range ids {
		if id != 1 {
			others = append(others, id)
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, "vlan %s\nexit\n", formatList(slices.Clone(others)))
	}
	for _, id := range others {
		if n := d.vlans[id]; n != "" {
			fmt.Fprintf(&b, "vlan %d\nname \"%s\"\nexit\n", id, n)
		}
	}
	b.WriteString("hostname \"" + d.cfg.Hostname + "\"\n")
	for _, name := range d.order {
		p := d.ports[name]
		fmt.Fprintf(&b, "!\ninterface %s\n", name)
		switch p.mode {
		case "trunk":
			b.WriteString("switchport mode trunk\n")
			if len(p.allowed) < 4093 {
				fmt.Fprintf(&b, "switchport trunk allowed vlan %s\n", formatList(p.allowed.ids()))
			}
		case "general":
			b.WriteString("switchport mode general\n")
			var tagged []int
			for _, id := range p.allowed.ids() {
				if id != p.pvid {
					tagged = append(tagged, id)
				}
			}
			if len(tagged) > 0 {
				fmt.Fprintf(&b, "switchport general allowed vlan add %s tagged\n", formatList(tagged))
			}
		}
		b.WriteString("exit\n")
	}
	b.WriteString("!\nexit\n")
	return b.String()
}

func (d *pcDev) table() []switchdrv.VLAN {
	var out []switchdrv.VLAN
	for id, name := range d.vlans {
		v := switchdrv.VLAN{ID: id, Name: name}
		for _, pn := range d.order {
			p := d.ports[pn]
			switch {
			case p.mode == "trunk" && p.allowed[id] || p.mode == "general" && p.allowed[id] && id != p.pvid:
				v.Tagged = append(v.Tagged, pn)
			case p.pvid == id:
				v.Untagged = append(v.Untagged, pn)
			}
		}
		out = append(out, v)
	}
	return sortVLANs(out)
}

func (d *pcDev) portMode(port string) (string, bool) {
	p := d.ports[port]
	if p == nil {
		return "", false
	}
	return p.mode, true
}

func (d *pcDev) setPortMode(port, mode string) error {
	p := d.ports[port]
	if p == nil || mode != "trunk" && mode != "access" && mode != "general" {
		return fmt.Errorf("sshemu: no port %q or bad mode %q", port, mode)
	}
	p.mode = mode
	return nil
}

func (d *pcDev) addVLAN(vid int, name string, tagged []string) error {
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
