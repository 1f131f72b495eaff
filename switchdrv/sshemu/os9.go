package sshemu

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// os9Dev models Dell Networking OS9 (Force10 FTOS: S4810, S4820T, S6000,
// MXL; 9.x), written from the OS9 Configuration Guide and Command Line
// Reference ("interface vlan vlan-id" creates a VLAN, "name", "tagged
// interface" and "no tagged interface" in its INTERFACE VLAN mode, "no
// interface vlan"; a port must be in Layer 2 mode (`switchport`) to be
// tagged; "% Error: ..." messages; `terminal length 0`; `write memory`) and
// their transcripts: `interface TenGigabitEthernet 1/2` sections with
// " switchport", VLAN sections listing " tagged TenGigabitEthernet 0/1-3,5",
// `show vlan` abbreviating ports as "Te 1/2". Untagged membership of the
// default VLAN is implied for every Layer 2 port and never listed.
type os9Dev struct {
	cfg   *Config
	vlans map[int]*pcVLAN
	l2    map[string]bool // port -> in Layer 2 mode
	order []string
}

func newOS9(cfg *Config) *os9Dev {
	if len(cfg.Ports) == 0 {
		cfg.Ports = defaultPorts("Te0/", 1)
	}
	d := &os9Dev{cfg: cfg, vlans: map[int]*pcVLAN{}, l2: map[string]bool{}}
	def := &pcVLAN{tagged: map[string]bool{}, untagged: map[string]bool{}}
	for _, p := range cfg.Ports {
		d.order = append(d.order, p)
		d.l2[p] = true
		def.untagged[p] = true
	}
	d.vlans[1] = def
	return d
}

func (d *os9Dev) prompt(c *cli) string {
	if c.mode == "" {
		c.mode, c.more = "exec", " --More-- "
	}
	h := d.cfg.Hostname
	switch c.mode {
	case "config":
		return h + "(conf)#"
	case "vlan":
		return fmt.Sprintf("%s(conf-if-vl-%d)#", h, c.vlan)
	case "if":
		return h + "(conf-if-te-" + strings.TrimPrefix(c.ports[0], "Te") + ")#"
	}
	return h + "#"
}

func (d *os9Dev) genericError(c *cli, line string) string {
	return caret(d.prompt(c), line, strings.Fields(line)[0]) + "% Error: Invalid input at \"^\" marker.\n"
}

func (d *os9Dev) portError(c *cli, line, port string) string {
	return "% Error: No such interface " + port + ".\n"
}

// port reads "TenGigabitEthernet 0/1", "tengig 0/1", "te 0/1".
func (d *os9Dev) port(f []string) (string, bool) {
	if len(f) != 2 || !strings.HasPrefix("tengigabitethernet", strings.ToLower(f[0])) || len(f[0]) < 2 {
		return "", false
	}
	p := "Te" + f[1]
	_, ok := d.l2[p]
	return p, ok
}

// portsIn names the ports a command line writes as "TenGigabitEthernet 0/1".
func (d *os9Dev) portsIn(line string) []string {
	f := strings.Fields(line)
	var out []string
	for i := 0; i+1 < len(f); i++ {
		if p, ok := d.port(f[i : i+2]); ok {
			out = append(out, p)
		}
	}
	return out
}

func (d *os9Dev) run(c *cli, line string) (string, bool) {
	f := strings.Fields(line)
	if quit, ok := leave(c, f[0], "exec", true); ok {
		return "", quit
	}
	switch {
	case line == "show running-config":
		return d.running(), false
	}
	if c.mode == "exec" {
		switch line {
		case "terminal length 0":
			c.paging = false
			return "", false
		case "configure", "configure terminal":
			c.mode = "config"
			return "", false
		case "write memory", "copy running-config startup-config":
			return "!\nDec  1 10:12:31: %STKUNIT0-M:CP %FILEMGR-5-FILESAVED: Copied running-config to startup-config in flash by default\n", false
		}
		return d.genericError(c, line), false
	}
	lower := strings.ToLower(line)
	switch {
	case strings.HasPrefix(lower, "interface vlan ") && len(f) == 3:
		id, err := strconv.Atoi(f[2])
		if err != nil || id < 1 || id > 4094 {
			return "% Error: Invalid VLAN ID.\n", false
		}
		if d.vlans[id] == nil {
			d.vlans[id] = &pcVLAN{tagged: map[string]bool{}, untagged: map[string]bool{}}
		}
		c.mode, c.vlan = "vlan", id
		return "", false
	case strings.HasPrefix(lower, "no interface vlan ") && len(f) == 4:
		id, err := strconv.Atoi(f[3])
		if err != nil || id < 2 || id > 4094 {
			return "% Error: Default VLAN cannot be deleted.\n", false
		}
		delete(d.vlans, id)
		return "", false
	case f[0] == "interface" && len(f) == 3:
		p, ok := d.port(f[1:])
		if !ok {
			return d.portError(c, line, strings.Join(f[1:], " ")), false
		}
		c.mode, c.ports = "if", []string{p}
		return "", false
	case c.mode == "vlan" && f[0] == "name" && len(f) == 2:
		d.vlans[c.vlan].name = f[1]
		return "", false
	case c.mode == "vlan" && (f[0] == "tagged" || f[0] == "no" && len(f) > 1 && f[1] == "tagged"):
		no := f[0] == "no"
		if no {
			f = f[1:]
		}
		p, ok := d.port(f[1:])
		if !ok {
			return d.portError(c, line, strings.Join(f[1:], " ")), false
		}
		if !d.l2[p] {
			return "% Error: Port is not in Layer-2 mode Te " + strings.TrimPrefix(p, "Te") + ".\n", false
		}
		if no {
			delete(d.vlans[c.vlan].tagged, p)
		} else {
			d.vlans[c.vlan].tagged[p] = true
		}
		return "", false
	case c.mode == "if" && (line == "switchport" || line == "no switchport"):
		d.l2[c.ports[0]] = line == "switchport"
		return "", false
	}
	return d.genericError(c, line), false
}

// running prints `show running-config`: port sections first, then VLAN
// sections whose tagged members are written "TenGigabitEthernet 0/1-3,5".
func (d *os9Dev) running() string {
	var b strings.Builder
	b.WriteString("Current Configuration ...\n! Version 9.14(2.4)\n! Last configuration change at Mon Dec  1 10:12:31 2026 by admin\n!\nhostname " + d.cfg.Hostname + "\n!\n")
	for _, p := range d.order {
		fmt.Fprintf(&b, "interface TenGigabitEthernet %s\n no ip address\n", strings.TrimPrefix(p, "Te"))
		if d.l2[p] {
			b.WriteString(" switchport\n")
		}
		b.WriteString(" no shutdown\n!\n")
	}
	ids := slices.Sorted(maps.Keys(d.vlans))
	for _, id := range ids {
		v := d.vlans[id]
		fmt.Fprintf(&b, "interface Vlan %d\n", id)
		if v.name != "" {
			fmt.Fprintf(&b, " name %s\n", v.name)
		}
		b.WriteString(" no ip address\n")
		if id != 1 {
			if list := d.list(v.tagged); list != "" {
				fmt.Fprintf(&b, " tagged TenGigabitEthernet %s\n", list)
			}
		}
		b.WriteString(" shutdown\n!\n")
	}
	b.WriteString("line console 0\n!\nend\n")
	return b.String()
}

// list writes ports as "0/1-3,5" (ranges of the last number, one slot).
func (d *os9Dev) list(set map[string]bool) string {
	var items []string
	for i := 0; i < len(d.order); i++ {
		if !set[d.order[i]] {
			continue
		}
		j := i
		for j+1 < len(d.order) && set[d.order[j+1]] {
			j++
		}
		item := strings.TrimPrefix(d.order[i], "Te")
		if j > i {
			_, n, _ := splitNum(d.order[j])
			item += "-" + strconv.Itoa(n)
		}
		items = append(items, item)
		i = j
	}
	return strings.Join(items, ",")
}

func (d *os9Dev) table() []switchdrv.VLAN {
	var out []switchdrv.VLAN
	for id, v := range d.vlans {
		x := switchdrv.VLAN{ID: id, Name: v.name}
		for _, p := range d.order {
			if v.tagged[p] {
				x.Tagged = append(x.Tagged, p)
			}
			if v.untagged[p] {
				x.Untagged = append(x.Untagged, p)
			}
		}
		out = append(out, x)
	}
	return sortVLANs(out)
}

func (d *os9Dev) portMode(port string) (string, bool) {
	l2, ok := d.l2[port]
	if l2 {
		return "switchport", ok
	}
	return "routed", ok
}

// setPortMode takes the port out of Layer 2 mode for anything but "trunk"
// or "switchport".
func (d *os9Dev) setPortMode(port, mode string) error {
	if _, ok := d.l2[port]; !ok {
		return fmt.Errorf("sshemu: no port %q", port)
	}
	d.l2[port] = mode == "trunk" || mode == "switchport"
	return nil
}

func (d *os9Dev) addVLAN(vid int, name string, tagged []string) error {
	v := &pcVLAN{name: name, tagged: map[string]bool{}, untagged: map[string]bool{}}
	for _, t := range tagged {
		if _, ok := d.l2[t]; !ok {
			return fmt.Errorf("sshemu: no port %q", t)
		}
		v.tagged[t] = true
	}
	d.vlans[vid] = v
	return nil
}
