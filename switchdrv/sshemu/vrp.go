package sshemu

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// vrpDev models Huawei VRP (S5700/S6700, V200R0xx) and, with comware set,
// H3C/HPE Comware 7 (5130/5940). Written from the Huawei S-series command
// reference ("port link-type", "port trunk allow-pass vlan { vlan-id1 [ to
// vlan-id2 ] } &<1-10>", VLAN 1 allowed by default, "vlan batch", "save"
// asking "Are you sure to continue?[Y/N]", "Error: Unrecognized command
// found at '^' position.") and the HPE/H3C Layer 2 LAN switching command
// references ("port trunk permit vlan", "undo vlan", "save force", " %
// Unrecognized command found at '^' position."), and from ntc-templates'
// real `display vlan` / `display port vlan` transcripts (GE0/0/1, XGE0/0/1
// names in brief displays, full names in configurations). Views: <sw> user,
// [sw] system, [sw-vlan100], [sw-GigabitEthernet0/0/1]; commands of the
// system view also run from the VLAN and interface views, as on both.
type vrpDev struct {
	cfg     *Config
	comware bool
	vlans   map[int]string // "" when the VLAN has no name
	ports   map[string]*vrpPort
	order   []string
	short   string // GE
	long    string // GigabitEthernet
}

type vrpPort struct {
	linkType string // access | trunk | hybrid
	pvid     int
	allowed  vlanSet
}

func newVRP(cfg *Config, comware bool) *vrpDev {
	d := &vrpDev{cfg: cfg, comware: comware, vlans: map[int]string{1: ""}, ports: map[string]*vrpPort{}, short: "GE", long: "GigabitEthernet"}
	if len(cfg.Ports) == 0 {
		if comware {
			cfg.Ports = defaultPorts("GE1/0/", 1)
		} else {
			cfg.Ports = defaultPorts("GE0/0/", 1)
		}
	}
	for _, p := range cfg.Ports {
		d.ports[p] = &vrpPort{linkType: "trunk", pvid: 1, allowed: vlanSet{1: true}}
		d.order = append(d.order, p)
	}
	return d
}

func (d *vrpDev) prompt(c *cli) string {
	if c.mode == "" {
		c.mode, c.more = "user", "  ---- More ----"
	}
	h := d.cfg.Hostname
	switch c.mode {
	case "system":
		return "[" + h + "]"
	case "vlan":
		return fmt.Sprintf("[%s-vlan%d]", h, c.vlan)
	case "interface":
		return "[" + h + "-" + d.long + strings.TrimPrefix(c.ports[0], d.short) + "]"
	}
	return "<" + h + ">"
}

// errorAt prints the caret under the word and the message both CLIs print.
func (d *vrpDev) errorAt(c *cli, line, word, what string) string {
	msg := "Error: " + what + " found at '^' position.\n"
	if d.comware {
		msg = " % " + what + " found at '^' position.\n"
	}
	return caret(d.prompt(c), line, word) + msg
}

func (d *vrpDev) genericError(c *cli, line string) string {
	return d.errorAt(c, line, strings.Fields(line)[0], "Unrecognized command")
}

func (d *vrpDev) portError(c *cli, line, port string) string {
	return d.errorAt(c, line, port, "Wrong parameter")
}

// canon maps a typed interface name (GigabitEthernet0/0/1, g0/0/1, GE0/0/1)
// to the port's brief name.
func (d *vrpDev) canon(s string) (string, bool) {
	s = strings.ReplaceAll(s, " ", "")
	i := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 1 {
		return "", false
	}
	typed := strings.ToLower(s[:i])
	if typed != strings.ToLower(d.short) && !strings.HasPrefix(strings.ToLower(d.long), typed) {
		return "", false
	}
	p := d.short + s[i:]
	return p, d.ports[p] != nil
}

func (d *vrpDev) run(c *cli, line string) (string, bool) {
	f := strings.Fields(line)
	wrong := func(word string) (string, bool) { return d.errorAt(c, line, word, "Wrong parameter"), false }
	incomplete := func() (string, bool) { return d.errorAt(c, line, f[len(f)-1], "Incomplete command"), false }
	switch {
	case f[0] == "display" && strings.Join(f, " ") == "display current-configuration":
		return d.current(), false
	case f[0] == "return" && c.mode != "user":
		c.mode = "user"
		return "", false
	case f[0] == "quit":
		switch c.mode {
		case "user":
			return "", true
		case "system":
			c.mode = "user"
		default:
			c.mode = "system"
		}
		return "", false
	}
	if c.mode == "user" {
		switch {
		case line == "system-view":
			c.mode = "system"
			if d.comware {
				return "System View: return to User View with Ctrl+Z.\n", false
			}
			return "Enter system view, return user view with Ctrl+Z.\n", false
		case d.comware && line == "screen-length disable", !d.comware && line == "screen-length 0 temporary":
			c.paging = false
			if d.comware {
				return "", false
			}
			return "Info: The configuration takes effect on the current user terminal interface only.\n", false
		case d.comware && line == "save force":
			return "Validating file. Please wait...\nSaved the current configuration to mainboard device successfully.\n", false
		case !d.comware && line == "save":
			c.write("The current configuration will be written to the device.\nAre you sure to continue?[Y/N]")
			ans, err := c.readLine(true)
			if err != nil || !strings.EqualFold(strings.TrimSpace(ans), "y") {
				return "", false
			}
			return "Now saving the current configuration to the slot 0.\nSave the configuration successfully.\n", false
		}
		return d.genericError(c, line), false
	}
	switch c.mode {
	case "vlan":
		if f[0] == "name" {
			if len(f) < 2 {
				return incomplete()
			}
			if len(line) > 100 {
				return wrong(f[1])
			}
			d.vlans[c.vlan] = strings.TrimSpace(strings.TrimPrefix(line, "name"))
			return "", false
		}
	case "interface":
		if out, ok := d.portCommand(c, line, f); ok {
			return out, false
		}
	}
	return d.system(c, line, f)
}

// system runs a command of the system view.
func (d *vrpDev) system(c *cli, line string, f []string) (string, bool) {
	wrong := func(word string) (string, bool) { return d.errorAt(c, line, word, "Wrong parameter"), false }
	switch {
	case f[0] == "vlan" && len(f) >= 3 && f[1] == "batch" && !d.comware:
		ids, ok := spacedList(f[2:])
		if !ok {
			return wrong(f[2])
		}
		for _, id := range ids {
			if _, ok := d.vlans[id]; !ok {
				d.vlans[id] = ""
			}
		}
		return "", false
	case f[0] == "vlan" && len(f) == 2:
		id, err := strconv.Atoi(f[1])
		if err != nil || id < 1 || id > 4094 {
			return wrong(f[1])
		}
		if _, ok := d.vlans[id]; !ok {
			d.vlans[id] = ""
		}
		c.mode, c.vlan = "vlan", id
		return "", false
	case f[0] == "undo" && len(f) == 3 && f[1] == "vlan":
		id, err := strconv.Atoi(f[2])
		if err != nil || id < 1 || id > 4094 {
			return wrong(f[2])
		}
		if id == 1 {
			if d.comware {
				return " % The default VLAN can't be deleted.\n", false
			}
			return "Error: The default VLAN cannot be deleted.\n", false
		}
		delete(d.vlans, id)
		for _, p := range d.ports {
			if p.pvid == id && p.linkType == "access" {
				p.pvid = 1
			}
		}
		return "", false
	case f[0] == "interface" && len(f) >= 2:
		p, ok := d.canon(strings.Join(f[1:], ""))
		if !ok {
			return wrong(f[1])
		}
		c.mode, c.ports = "interface", []string{p}
		return "", false
	}
	return d.genericError(c, line), false
}

// portCommand runs a command of the interface view; ok is false for one
// the view does not have.
func (d *vrpDev) portCommand(c *cli, line string, f []string) (string, bool) {
	p := d.ports[c.ports[0]]
	keyword := "allow-pass"
	if d.comware {
		keyword = "permit"
	}
	undo := f[0] == "undo"
	if undo {
		f = f[1:]
	}
	switch {
	case len(f) == 3 && f[0] == "port" && f[1] == "link-type" && !undo:
		switch f[2] {
		case "access", "trunk", "hybrid":
			p.linkType = f[2]
			return "", true
		}
		return d.errorAt(c, line, f[2], "Wrong parameter"), true
	case len(f) >= 4 && f[0] == "port" && f[1] == "trunk" && f[2] == keyword && f[3] == "vlan":
		if p.linkType != "trunk" {
			if d.comware {
				return " % Please set the link type of the port to trunk.\n", true
			}
			return "Error: Please configure the port as a trunk port first.\n", true
		}
		if len(f) == 4 {
			return d.errorAt(c, line, f[3], "Incomplete command"), true
		}
		ids, ok := spacedList(f[4:])
		if !ok {
			return d.errorAt(c, line, f[4], "Wrong parameter"), true
		}
		for _, id := range ids {
			if undo {
				delete(p.allowed, id)
			} else {
				p.allowed[id] = true
			}
		}
		return "", true
	}
	return "", false
}

// spacedList parses "1 100 to 102" or "all".
func spacedList(f []string) ([]int, bool) {
	var out []int
	for i := 0; i < len(f); i++ {
		if f[i] == "all" {
			for id := 1; id <= 4094; id++ {
				out = append(out, id)
			}
			continue
		}
		a, err := strconv.Atoi(f[i])
		b := a
		if err == nil && i+2 < len(f) && f[i+1] == "to" {
			b, err = strconv.Atoi(f[i+2])
			i += 2
		}
		if err != nil || a < 1 || b < a || b > 4094 {
			return nil, false
		}
		for id := a; id <= b; id++ {
			out = append(out, id)
		}
	}
	return out, len(out) > 0
}

// spaced writes IDs as "1 100 to 102".
func spaced(ids []int) string {
	return strings.ReplaceAll(strings.ReplaceAll(formatList(ids), ",", " "), "-", " to ")
}

// current prints `display current-configuration`: sections separated by
// "#", full interface names, and "return" at the end. VRP lists VLANs in
// one `vlan batch` line; Comware gives each VLAN a section.
func (d *vrpDev) current() string {
	var b strings.Builder
	ids := slices.Sorted(maps.Keys(d.vlans))
	if d.comware {
		b.WriteString("#\n version 7.1.070, Release 3208P03\n#\n sysname " + d.cfg.Hostname + "\n#\n")
		for _, id := range ids {
			fmt.Fprintf(&b, "vlan %d\n", id)
			if n := d.vlans[id]; n != "" {
				fmt.Fprintf(&b, " name %s\n", n)
			}
			b.WriteString("#\n")
		}
	} else {
		b.WriteString("!Software Version V200R019C10SPC500\n#\nsysname " + d.cfg.Hostname + "\n#\n")
		var others []int
		for _, id := range ids {
			if id != 1 {
				others = append(others, id)
			}
		}
		if len(others) > 0 {
			fmt.Fprintf(&b, "vlan batch %s\n#\n", spaced(others))
		}
		for _, id := range others {
			if n := d.vlans[id]; n != "" {
				fmt.Fprintf(&b, "vlan %d\n name %s\n#\n", id, n)
			}
		}
	}
	keyword := "allow-pass"
	if d.comware {
		keyword = "permit"
	}
	for _, name := range d.order {
		p := d.ports[name]
		fmt.Fprintf(&b, "interface %s%s\n", d.long, strings.TrimPrefix(name, d.short))
		if d.comware {
			b.WriteString(" port link-mode bridge\n")
		}
		switch p.linkType {
		case "access":
			if p.pvid != 1 {
				if d.comware {
					fmt.Fprintf(&b, " port access vlan %d\n", p.pvid)
				} else {
					fmt.Fprintf(&b, " port default vlan %d\n", p.pvid)
				}
			}
		case "trunk", "hybrid":
			fmt.Fprintf(&b, " port link-type %s\n", p.linkType)
			if !p.allowed[1] {
				fmt.Fprintf(&b, " undo port trunk %s vlan 1\n", keyword)
			}
			var rest []int
			for _, id := range p.allowed.ids() {
				if id != 1 || d.comware {
					rest = append(rest, id)
				}
			}
			if len(rest) > 0 && !(d.comware && len(rest) == 1 && rest[0] == 1) {
				fmt.Fprintf(&b, " port trunk %s vlan %s\n", keyword, spaced(rest))
			}
		}
		b.WriteString("#\n")
	}
	b.WriteString("user-interface vty 0 4\n authentication-mode aaa\n protocol inbound ssh\n#\nreturn\n")
	return b.String()
}

func (d *vrpDev) table() []switchdrv.VLAN {
	var out []switchdrv.VLAN
	for id, name := range d.vlans {
		v := switchdrv.VLAN{ID: id, Name: name}
		for _, pn := range d.order {
			p := d.ports[pn]
			switch {
			case p.linkType != "access" && p.allowed[id]:
				v.Tagged = append(v.Tagged, pn)
			case p.linkType == "access" && p.pvid == id:
				v.Untagged = append(v.Untagged, pn)
			}
		}
		out = append(out, v)
	}
	return sortVLANs(out)
}

func (d *vrpDev) portMode(port string) (string, bool) {
	p := d.ports[port]
	if p == nil {
		return "", false
	}
	return p.linkType, true
}

func (d *vrpDev) setPortMode(port, mode string) error {
	p := d.ports[port]
	if p == nil || mode != "trunk" && mode != "access" {
		return fmt.Errorf("sshemu: no port %q or bad mode %q", port, mode)
	}
	p.linkType = mode
	return nil
}

func (d *vrpDev) addVLAN(vid int, name string, tagged []string) error {
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
