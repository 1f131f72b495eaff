package sshemu

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// iosDev models Cisco IOS, (eos set) Arista EOS and (eos and nx set)
// Cisco NX-OS: VLANs with names, and ports that are trunks with an allowed
// VLAN list or access ports in one VLAN. NX-OS is written from the Cisco
// Nexus 9000 NX-OS Interfaces and Layer 2 Switching Configuration Guides
// (interface ethernet 1/1-4, ethernet 1/7 lists; "% Invalid command at '^'
// marker."; two-space running-config sections without "!" or "end") and
// the ntc-templates show vlan transcripts of Nexus switches.
type iosDev struct {
	cfg   *Config
	eos   bool
	nx    bool
	short string // port name prefix as shown: Gi1/0/, Et
	long  string // the full interface type: GigabitEthernet, Ethernet
	trunkTable
}

type iosPort struct {
	mode    string // trunk | access
	access  int
	allowed vlanSet // nil: all VLANs
}

func newIOS(cfg *Config, eos, nx bool) *iosDev {
	d := &iosDev{cfg: cfg, eos: eos || nx, nx: nx, trunkTable: trunkTable{vlans: map[int]string{1: "default"}, ports: map[string]*iosPort{}}}
	d.short, d.long = "Gi", "GigabitEthernet"
	switch {
	case nx:
		d.short, d.long = "Eth", "Ethernet"
	case eos:
		d.short, d.long = "Et", "Ethernet"
	}
	if len(cfg.Ports) == 0 {
		switch {
		case nx:
			cfg.Ports = defaultPorts("Eth1/", 1)
		case eos:
			cfg.Ports = defaultPorts("Et", 1)
		default:
			cfg.Ports = defaultPorts("Gi1/0/", 1)
		}
	}
	for _, p := range cfg.Ports {
		d.ports[p] = &iosPort{mode: "trunk", access: 1, allowed: vlanSet{1: true}}
		d.order = append(d.order, p)
	}
	if !d.eos {
		for id, n := range map[int]string{1002: "fddi-default", 1003: "token-ring-default", 1004: "fddinet-default", 1005: "trnet-default"} {
			d.vlans[id] = n
		}
	}
	return d
}

func (d *iosDev) prompt(c *cli) string {
	if c.mode == "" {
		c.mode, c.more = "enable", " --More-- "
		if d.cfg.EnablePassword != "" {
			c.mode = "exec"
		}
	}
	h := d.cfg.Hostname
	switch c.mode {
	case "exec":
		return h + ">"
	case "enable":
		return h + "#"
	case "config-vlan":
		if d.eos && !d.nx {
			return fmt.Sprintf("%s(config-vlan-%d)#", h, c.vlan)
		}
		return h + "(config-vlan)#"
	case "config-if":
		if d.eos && !d.nx {
			return h + "(config-if-" + c.ports[0] + ")#"
		}
		if len(c.ports) > 1 {
			return h + "(config-if-range)#"
		}
		return h + "(config-if)#"
	}
	return h + "(config)#"
}

func (d *iosDev) genericError(c *cli, line string) string {
	if d.nx {
		return caret(d.prompt(c), line, strings.Fields(line)[0]) + "% Invalid command at '^' marker.\n"
	}
	if d.eos {
		return "% Invalid input\n"
	}
	return caret(d.prompt(c), line, strings.Fields(line)[0]) + "% Invalid input detected at '^' marker.\n\n"
}

func (d *iosDev) portError(c *cli, line, port string) string {
	if d.nx {
		return caret(d.prompt(c), line, port) + "% Invalid interface format at '^' marker.\n"
	}
	if d.eos {
		return "% Invalid input\n"
	}
	return caret(d.prompt(c), line, port) + "% Invalid input detected at '^' marker.\n\n"
}

func (d *iosDev) incomplete() string { return "% Incomplete command.\n\n" }

// canon maps a typed interface name (gi1/0/1, GigabitEthernet1/0/1) to the
// port's shown name.
func (d *iosDev) canon(s string) (string, bool) {
	if _, ok := d.ports[s]; ok {
		return s, true
	}
	i := 0
	for i < len(s) && (s[i] < '0' || s[i] > '9') {
		i++
	}
	typed, rest := strings.ToLower(s[:i]), s[i:]
	typed = strings.TrimSpace(typed)
	if len(typed) < 1 || !strings.HasPrefix(strings.ToLower(d.long), typed) {
		return "", false
	}
	if want := d.short + rest; d.ports[want] != nil {
		return want, true
	}
	return "", false
}

// portSpec parses "Gi1/0/1 - 4 , Gi1/0/7" or "Et1,Et3-5".
func (d *iosDev) portSpec(spec string) ([]string, string, bool) {
	var out []string
	parts := strings.Split(spec, ",")
	if !d.eos && len(parts) > 5 {
		return nil, strings.TrimSpace(parts[5]), false
	}
	for _, part := range parts {
		part = strings.ReplaceAll(strings.TrimSpace(part), " ", "")
		if part == "" {
			return nil, part, false
		}
		first, last, isRange := strings.Cut(part, "-")
		p, ok := d.canon(first)
		if !ok {
			return nil, first, false
		}
		if !isRange {
			out = append(out, p)
			continue
		}
		prefix, a, _ := splitNum(p)
		b, err := strconv.Atoi(last)
		if err != nil || b < a {
			return nil, last, false
		}
		for n := a; n <= b; n++ {
			q := prefix + strconv.Itoa(n)
			if d.ports[q] == nil {
				return nil, last, false
			}
			out = append(out, q)
		}
	}
	return out, "", true
}

func (d *iosDev) run(c *cli, line string) (string, bool) {
	f := strings.Fields(line)
	invalid := func(word string) (string, bool) {
		if d.nx {
			return caret(d.prompt(c), line, word) + "% Invalid command at '^' marker.\n", false
		}
		if d.eos {
			return "% Invalid input\n", false
		}
		return caret(d.prompt(c), line, word) + "% Invalid input detected at '^' marker.\n\n", false
	}
	switch {
	case f[0] == "end" && strings.HasPrefix(c.mode, "config"):
		c.mode = "enable"
		return "", false
	case f[0] == "exit" || f[0] == "logout" || f[0] == "quit":
		switch c.mode {
		case "exec", "enable":
			return "", true
		case "config":
			c.mode = "enable"
		default:
			c.mode = "config"
		}
		return "", false
	case f[0] == "terminal" && len(f) == 3 && (f[1] == "length" || f[1] == "width"):
		n, err := strconv.Atoi(f[2])
		if err != nil || n < 0 || n > 32767 {
			return invalid(f[2])
		}
		if f[1] == "length" {
			c.paging, c.pageLen = n > 0, max(n, 2)
		}
		return "", false
	case f[0] == "terminal":
		return d.incomplete(), false
	}
	if c.mode == "exec" || c.mode == "enable" {
		return d.runExec(c, line, f, invalid)
	}
	return d.runConfig(c, line, f, invalid)
}

func (d *iosDev) runExec(c *cli, line string, f []string, invalid func(string) (string, bool)) (string, bool) {
	switch strings.Join(f, " ") {
	case "show interfaces status":
		return d.showStatus(), false
	case "show interfaces trunk":
		return d.showTrunk(), false
	case "show vlan brief", "show vlan":
		return d.showVLAN(), false
	case "show running-config":
		return d.showRunning(), false
	case "show":
		return d.incomplete(), false
	}
	if c.mode == "exec" {
		return invalid(f[0])
	}
	switch strings.Join(f, " ") {
	case "configure terminal", "conf t", "configure":
		c.mode = "config"
		return "Enter configuration commands, one per line.  End with CNTL/Z.\n", false
	case "write memory", "write", "copy running-config startup-config":
		if d.nx {
			if f[0] == "write" {
				return invalid(f[0])
			}
			return "[########################################] 100%\nCopy complete, now saving to disk (please wait)...\nCopy complete.\n", false
		}
		if d.eos {
			return "Copy completed successfully.\n", false
		}
		return "Building configuration...\n[OK]\n", false
	}
	return invalid(f[0])
}

func (d *iosDev) runConfig(c *cli, line string, f []string, invalid func(string) (string, bool)) (string, bool) {
	global := f[0] == "vlan" || f[0] == "interface" || f[0] == "no" && len(f) > 1 && f[1] == "vlan"
	if global && c.mode != "config" && d.cfg.NoPromptAfterGlobal {
		c.noPrompt = true
	}
	switch {
	case f[0] == "vlan":
		if len(f) < 2 {
			return d.incomplete(), false
		}
		ids, ok := parseList(strings.Join(f[1:], ""))
		if !ok {
			return invalid(f[1])
		}
		for _, id := range ids {
			if _, ok := d.vlans[id]; !ok {
				d.vlans[id] = fmt.Sprintf("VLAN%04d", id)
			}
		}
		c.mode, c.vlan = "config-vlan", ids[0]
		return "", false
	case f[0] == "no" && len(f) >= 2 && f[1] == "vlan":
		if len(f) < 3 {
			return d.incomplete(), false
		}
		ids, ok := parseList(strings.Join(f[2:], ""))
		if !ok {
			return invalid(f[2])
		}
		for _, id := range ids {
			if id == 1 || id >= 1002 && id <= 1005 && !d.eos {
				return fmt.Sprintf("%%Default VLAN %d may not be deleted.\n", id), false
			}
			delete(d.vlans, id)
		}
		c.mode = "config"
		return "", false
	case f[0] == "interface":
		spec := strings.TrimSpace(strings.TrimPrefix(line, "interface"))
		if d.nx && len(f) > 1 && f[1] == "range" {
			return invalid(f[1])
		}
		if !d.eos && len(f) > 1 && f[1] == "range" {
			spec = strings.TrimSpace(strings.TrimPrefix(spec, "range"))
		} else if !d.eos && strings.ContainsAny(spec, ",-") {
			return invalid(spec)
		}
		if spec == "" {
			return d.incomplete(), false
		}
		ports, bad, ok := d.portSpec(spec)
		if !ok {
			return invalid(bad)
		}
		c.mode, c.ports = "config-if", ports
		return "", false
	case f[0] == "name" && c.mode == "config-vlan":
		if len(f) != 2 || len(f[1]) > 32 {
			return invalid(f[len(f)-1])
		}
		d.vlans[c.vlan] = f[1]
		return "", false
	case f[0] == "switchport" && c.mode == "config-if":
		return d.switchport(c, line, f, invalid)
	case f[0] == "description" && c.mode == "config-if":
		return "", false
	}
	return invalid(f[0])
}

func (d *iosDev) switchport(c *cli, line string, f []string, invalid func(string) (string, bool)) (string, bool) {
	rest := strings.Join(f[1:], " ")
	switch {
	case rest == "mode trunk" || rest == "mode access":
		for _, p := range c.ports {
			d.ports[p].mode = f[2]
		}
		return "", false
	case strings.HasPrefix(rest, "access vlan "):
		id, err := strconv.Atoi(f[3])
		if err != nil || id < 1 || id > 4094 {
			return invalid(f[3])
		}
		for _, p := range c.ports {
			d.ports[p].access = id
		}
		return "", false
	case strings.HasPrefix(rest, "trunk allowed vlan"):
		if len(f) < 5 {
			return d.incomplete(), false
		}
		op, list := "set", f[4]
		switch f[4] {
		case "add", "remove", "except":
			if len(f) < 6 {
				return d.incomplete(), false
			}
			op, list = f[4], strings.Join(f[5:], "")
		case "all", "none":
			op = f[4]
		}
		var ids []int
		if op != "all" && op != "none" {
			var ok bool
			if ids, ok = parseList(list); !ok {
				return invalid(list)
			}
		}
		for _, p := range c.ports {
			pt := d.ports[p]
			switch op {
			case "all":
				pt.allowed = nil
			case "none":
				pt.allowed = vlanSet{}
			case "set":
				pt.allowed = vlanSet{}
				for _, id := range ids {
					pt.allowed[id] = true
				}
			case "add":
				if pt.allowed != nil {
					for _, id := range ids {
						pt.allowed[id] = true
					}
				}
			case "remove":
				if pt.allowed == nil {
					pt.allowed = vlanSet{}
					for id := 1; id <= 4094; id++ {
						pt.allowed[id] = true
					}
				}
				for _, id := range ids {
					delete(pt.allowed, id)
				}
			}
		}
		return "", false
	}
	return invalid(f[1])
}

func (d *iosDev) allowedText(p *iosPort) string {
	if p.allowed == nil {
		return "1-4094"
	}
	return formatList(p.allowed.ids())
}

func (d *iosDev) showStatus() string {
	var b strings.Builder
	if d.eos {
		b.WriteString("Port       Name   Status       Vlan     Duplex Speed  Type            Flags Encapsulation\n")
	} else {
		b.WriteString("\nPort      Name               Status       Vlan       Duplex  Speed Type\n")
	}
	for _, name := range d.order {
		p := d.ports[name]
		vlan := "trunk"
		if p.mode == "access" {
			vlan = strconv.Itoa(p.access)
		}
		if d.eos {
			fmt.Fprintf(&b, "%-10s %-6s %-12s %-8s %-6s %-6s %-15s\n", name, "", "connected", vlan, "full", "10G", "10GBASE-T")
		} else {
			fmt.Fprintf(&b, "%-9s %-18s %-12s %-10s %6s %6s %s\n", name, "", "connected", vlan, "a-full", "a-1000", "10/100/1000BaseTX")
		}
	}
	return b.String()
}

func (d *iosDev) showTrunk() string {
	var trunks []string
	for _, name := range d.order {
		if d.ports[name].mode == "trunk" {
			trunks = append(trunks, name)
		}
	}
	var b strings.Builder
	b.WriteString("\nPort        Mode             Encapsulation  Status        Native vlan\n")
	for _, name := range trunks {
		fmt.Fprintf(&b, "%-11s %-16s %-14s %-13s %d\n", name, "on", "802.1q", "trunking", 1)
	}
	section := func(title string, active bool) {
		fmt.Fprintf(&b, "\nPort        %s\n", title)
		for _, name := range trunks {
			p := d.ports[name]
			var ids []string
			if !active {
				ids = strings.Split(d.allowedText(p), ",")
			} else {
				var act []int
				for id := range d.vlans {
					if d.carries(p, id) {
						act = append(act, id)
					}
				}
				ids = strings.Split(formatList(act), ",")
			}
			fmt.Fprintf(&b, "%-11s %s\n", name, wrapList(ids, ",", 60, 12))
		}
	}
	section("Vlans allowed on trunk", false)
	section("Vlans allowed and active in management domain", true)
	section("Vlans in spanning tree forwarding state and not pruned", true)
	return b.String()
}

func (d *iosDev) showVLAN() string {
	var b strings.Builder
	if d.eos && !d.nx {
		b.WriteString("VLAN  Name                             Status    Ports\n----- -------------------------------- --------- -------------------------------\n")
	} else {
		b.WriteString("\nVLAN Name                             Status    Ports\n---- -------------------------------- --------- -------------------------------\n")
	}
	var ids []int
	for id := range d.vlans {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		var members []string
		for _, name := range d.order {
			p := d.ports[name]
			if p.mode == "access" && p.access == id || d.eos && p.mode == "trunk" && d.carries(p, id) {
				members = append(members, name)
			}
		}
		status := "active"
		if id >= 1002 && id <= 1005 {
			status = "act/unsup"
		}
		var list string
		if d.eos && !d.nx {
			list = wrapList(members, ", ", 31, 49)
			fmt.Fprintf(&b, "%-5d %-32s %-9s %s\n", id, d.vlans[id], status, list)
		} else {
			list = wrapList(members, ", ", 31, 48)
			fmt.Fprintf(&b, "%-4d %-32s %-9s %s\n", id, d.vlans[id], status, list)
		}
	}
	return b.String()
}

// showRunning prints the running configuration as IOS and EOS do (Catalyst
// 3750 and EOS configuration guides): VLANs appear only on EOS (an IOS in
// VTP server mode keeps them in vlan.dat), every port has a section, a
// trunk's allowed list is printed only when it is not all VLANs, and IOS
// continues a long list on `switchport trunk allowed vlan add` lines.
func (d *iosDev) showRunning() string {
	if d.nx {
		return d.showRunningNX()
	}
	var b strings.Builder
	in := " "
	if d.eos {
		in = "   "
		b.WriteString("! Command: show running-config\n! device: " + d.cfg.Hostname + " (DCS-7050TX-64, EOS-4.28.3M)\n!\n")
		b.WriteString("transceiver qsfp default-mode 4x10G\n!\nhostname " + d.cfg.Hostname + "\n!\n")
		var ids []int
		for id := range d.vlans {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if id == 1 {
				continue
			}
			fmt.Fprintf(&b, "vlan %d\n   name %s\n!\n", id, d.vlans[id])
		}
	} else {
		b.WriteString("Building configuration...\n\nCurrent configuration : 8712 bytes\n!\nversion 15.2\nno service pad\n!\nhostname " + d.cfg.Hostname + "\n!\n")
		b.WriteString("spanning-tree mode rapid-pvst\n!\n")
	}
	for _, name := range d.order {
		p := d.ports[name]
		fmt.Fprintf(&b, "interface %s%s\n", d.long, strings.TrimPrefix(name, d.short))
		switch p.mode {
		case "access":
			if p.access != 1 {
				fmt.Fprintf(&b, "%sswitchport access vlan %d\n", in, p.access)
			}
			fmt.Fprintf(&b, "%sswitchport mode access\n", in)
		case "trunk":
			if p.allowed != nil {
				list := strings.Split(formatList(p.allowed.ids()), ",")
				first := true
				for len(list) > 0 {
					n := len(list)
					if !d.eos { // IOS wraps the list at about 70 characters
						n = 1
						for n < len(list) && len(strings.Join(list[:n+1], ",")) < 70 {
							n++
						}
					}
					add := ""
					if !first {
						add = "add "
					}
					fmt.Fprintf(&b, "%sswitchport trunk allowed vlan %s%s\n", in, add, strings.Join(list[:n], ","))
					list, first = list[n:], false
				}
			}
			if !d.eos {
				fmt.Fprintf(&b, "%sswitchport trunk encapsulation dot1q\n", in)
			}
			fmt.Fprintf(&b, "%sswitchport mode trunk\n", in)
		}
		b.WriteString("!\n")
	}
	b.WriteString("interface Vlan1\n" + in + "no ip address\n!\nline vty 0 4\n" + in + "transport input ssh\n!\nend\n")
	return b.String()
}

// showRunningNX prints NX-OS's running configuration: a "!Command:"
// header, VLANs as one `vlan` list then a section per named VLAN,
// sections indented by two spaces and separated by blank lines, no "end".
func (d *iosDev) showRunningNX() string {
	var b strings.Builder
	b.WriteString("\n!Command: show running-config\n!Running configuration last done at: Mon Dec  1 10:12:31 2026\n!Time: Mon Dec  1 10:14:02 2026\n\n")
	b.WriteString("version 9.3(8) Bios:version 05.45 \nhostname " + d.cfg.Hostname + "\n\nfeature lacp\n\n")
	var ids []int
	for id := range d.vlans {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fmt.Fprintf(&b, "vlan %s\n", formatList(slices.Clone(ids)))
	for _, id := range ids {
		if id != 1 {
			fmt.Fprintf(&b, "vlan %d\n  name %s\n", id, d.vlans[id])
		}
	}
	b.WriteString("\nvrf context management\n\n")
	for _, name := range d.order {
		p := d.ports[name]
		fmt.Fprintf(&b, "\ninterface %s%s\n", d.long, strings.TrimPrefix(name, d.short))
		switch p.mode {
		case "access":
			if p.access != 1 {
				fmt.Fprintf(&b, "  switchport access vlan %d\n", p.access)
			}
		case "trunk":
			b.WriteString("  switchport mode trunk\n")
			if p.allowed != nil {
				list := strings.Split(formatList(p.allowed.ids()), ",")
				for i := 0; i < len(list); i += 16 {
					add := ""
					if i > 0 {
						add = "add "
					}
					fmt.Fprintf(&b, "  switchport trunk allowed vlan %s%s\n", add, strings.Join(list[i:min(i+16, len(list))], ","))
				}
			}
		}
	}
	b.WriteString("\ninterface mgmt0\n  vrf member management\n  ip address 192.0.2.2/24\nline console\nline vty\n\n")
	return b.String()
}

// enable runs `enable`, asking for the enable password when one is set.
func (d *iosDev) enable(c *cli) string {
	if c.mode != "exec" {
		return ""
	}
	for range 3 {
		c.write("Password: ")
		pw, err := c.readLine(false)
		if err != nil {
			return ""
		}
		if pw == d.cfg.EnablePassword {
			c.mode = "enable"
			return ""
		}
	}
	return "% Bad secrets\n\n"
}
