package sshemu

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// proCurveDev models HP ProCurve / ArubaOS-Switch: each VLAN has tagged and
// untagged member ports; ports have no mode of their own.
type proCurveDev struct {
	cfg   *Config
	order []string
	known map[string]bool
	vlans map[int]*pcVLAN
}

type pcVLAN struct {
	name     string
	tagged   map[string]bool
	untagged map[string]bool
}

func newProCurve(cfg *Config) *proCurveDev {
	if len(cfg.Ports) == 0 {
		cfg.Ports = defaultPorts("", 1)
	}
	d := &proCurveDev{cfg: cfg, known: map[string]bool{}, vlans: map[int]*pcVLAN{}}
	def := &pcVLAN{name: "DEFAULT_VLAN", tagged: map[string]bool{}, untagged: map[string]bool{}}
	for _, p := range cfg.Ports {
		d.order = append(d.order, p)
		d.known[p] = true
		def.untagged[p] = true
	}
	d.vlans[1] = def
	return d
}

func (d *proCurveDev) prompt(c *cli) string {
	if c.mode == "" {
		c.mode, c.more = "manager", "-- MORE --, next page: Space, next line: Enter, quit: Control-C"
	}
	switch c.mode {
	case "config":
		return d.cfg.Hostname + "(config)# "
	case "vlan":
		return fmt.Sprintf("%s(vlan-%d)# ", d.cfg.Hostname, c.vlan)
	}
	return d.cfg.Hostname + "# "
}

func (d *proCurveDev) genericError(c *cli, line string) string {
	return "Invalid input: " + strings.Fields(line)[0] + "\n"
}

func (d *proCurveDev) portError(c *cli, line, port string) string {
	return "Module not present for port or invalid port: " + port + "\n"
}

// ports expands a port list such as "1-4,A1" against the known ports.
func (d *proCurveDev) ports(list string) ([]string, string) {
	var out []string
	for _, part := range strings.Split(list, ",") {
		first, last, isRange := strings.Cut(part, "-")
		if !d.known[first] {
			return nil, first
		}
		if !isRange {
			out = append(out, first)
			continue
		}
		pf, a, _ := splitNum(first)
		pl, b, ok := splitNum(last)
		if !ok || pl != pf || b < a || !d.known[last] {
			return nil, last
		}
		for n := a; n <= b; n++ {
			p := pf + strconv.Itoa(n)
			if !d.known[p] {
				return nil, p
			}
			out = append(out, p)
		}
	}
	return out, ""
}

func (d *proCurveDev) run(c *cli, line string) (string, bool) {
	f := strings.Fields(line)
	invalid := func(w string) (string, bool) { return "Invalid input: " + w + "\n", false }
	incomplete := func() (string, bool) { return "Incomplete input: " + f[len(f)-1] + "\n", false }
	switch {
	case f[0] == "no" && len(f) == 2 && f[1] == "page":
		c.paging = false
		return "", false
	case f[0] == "page":
		c.paging = true
		return "", false
	case f[0] == "end":
		if c.mode == "manager" {
			return invalid(f[0])
		}
		c.mode = "manager"
		return "", false
	case f[0] == "exit" || f[0] == "logout":
		switch c.mode {
		case "manager":
			return "", true
		case "vlan":
			c.mode = "config"
		default:
			c.mode = "manager"
		}
		return "", false
	case line == "show running-config":
		return d.runningConfig(), false
	case line == "write memory":
		return "", false
	case f[0] == "configure" || f[0] == "config":
		c.mode = "config"
		return "", false
	case c.mode == "manager":
		return invalid(f[0])
	}
	// Configuration and VLAN context.
	neg := f[0] == "no"
	if neg {
		f = f[1:]
		if len(f) == 0 {
			return incomplete()
		}
	}
	vid := c.vlan
	if f[0] == "vlan" {
		if len(f) < 2 {
			return incomplete()
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return invalid(f[1])
		}
		if n < 1 || n > 4094 {
			return fmt.Sprintf("Value %d is out of range [1 - 4094].\n", n), false
		}
		vid, f = n, f[2:]
		if len(f) == 0 {
			if neg {
				if vid == 1 {
					return "The default VLAN cannot be deleted.\n", false
				}
				delete(d.vlans, vid)
				return "", false
			}
			d.create(vid)
			c.mode, c.vlan = "vlan", vid
			return "", false
		}
	} else if c.mode != "vlan" {
		return invalid(f[0])
	}
	switch f[0] {
	case "name":
		if neg || len(f) != 2 {
			return invalid(f[0])
		}
		d.create(vid).name = strings.Trim(f[1], `"`)
		return "", false
	case "tagged", "untagged":
		if len(f) < 2 {
			return incomplete()
		}
		ports, bad := d.ports(strings.Join(f[1:], ""))
		if bad != "" {
			return "Module not present for port or invalid port: " + bad + "\n", false
		}
		v := d.vlans[vid]
		if neg && v == nil {
			return fmt.Sprintf("VLAN %d not found.\n", vid), false
		}
		if v == nil {
			v = d.create(vid)
		}
		for _, p := range ports {
			switch {
			case neg && f[0] == "tagged":
				delete(v.tagged, p)
			case neg:
				delete(v.untagged, p)
			case f[0] == "tagged":
				delete(v.untagged, p)
				v.tagged[p] = true
			default:
				for _, o := range d.vlans {
					delete(o.untagged, p)
				}
				delete(v.tagged, p)
				v.untagged[p] = true
			}
		}
		return "", false
	}
	return invalid(f[0])
}

func (d *proCurveDev) create(vid int) *pcVLAN {
	v := d.vlans[vid]
	if v == nil {
		v = &pcVLAN{name: fmt.Sprintf("VLAN%d", vid), tagged: map[string]bool{}, untagged: map[string]bool{}}
		d.vlans[vid] = v
	}
	return v
}

// compress writes ports as the device does: "1-4,7,A1-A2".
func (d *proCurveDev) compress(set map[string]bool) string {
	var parts []string
	for i := 0; i < len(d.order); {
		if !set[d.order[i]] {
			i++
			continue
		}
		j := i
		pi, ni, oki := splitNum(d.order[i])
		for j+1 < len(d.order) && set[d.order[j+1]] {
			pj, nj, okj := splitNum(d.order[j+1])
			if !oki || !okj || pj != pi || nj != ni+(j+1-i) {
				break
			}
			j++
		}
		if j == i {
			parts = append(parts, d.order[i])
		} else {
			parts = append(parts, d.order[i]+"-"+d.order[j])
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func (d *proCurveDev) runningConfig() string {
	var b strings.Builder
	b.WriteString("\nRunning configuration:\n\n; J9727A Configuration Editor; Created on release #WB.16.02.0012\n; Ver #0d:13.ef.7c.5f.fc.6b.fb.9f.fc.f3.ff.37.2f:06\n")
	fmt.Fprintf(&b, "hostname %q\n", d.cfg.Hostname)
	var ids []int
	for id := range d.vlans {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		v := d.vlans[id]
		fmt.Fprintf(&b, "vlan %d\n   name %q\n", id, v.name)
		if len(v.untagged) > 0 {
			fmt.Fprintf(&b, "   untagged %s\n", d.compress(v.untagged))
		}
		if len(v.tagged) > 0 {
			fmt.Fprintf(&b, "   tagged %s\n", d.compress(v.tagged))
		}
		if id == 1 {
			b.WriteString("   ip address dhcp-bootp\n")
		} else {
			b.WriteString("   no ip address\n")
		}
		b.WriteString("   exit\n")
	}
	b.WriteString("spanning-tree\npassword manager\n")
	return b.String()
}

func (d *proCurveDev) table() []switchdrv.VLAN {
	var out []switchdrv.VLAN
	for id, v := range d.vlans {
		sv := switchdrv.VLAN{ID: id, Name: v.name}
		for _, p := range d.order {
			if v.tagged[p] {
				sv.Tagged = append(sv.Tagged, p)
			}
			if v.untagged[p] {
				sv.Untagged = append(sv.Untagged, p)
			}
		}
		out = append(out, sv)
	}
	return sortVLANs(out)
}

func (d *proCurveDev) portMode(port string) (string, bool) { return "", d.known[port] }

func (d *proCurveDev) setPortMode(port, mode string) error {
	return fmt.Errorf("sshemu: procurve ports have no mode")
}

func (d *proCurveDev) addVLAN(vid int, name string, tagged []string) error {
	v := d.create(vid)
	v.name = name
	for _, t := range tagged {
		if !d.known[t] {
			return fmt.Errorf("sshemu: no port %q", t)
		}
		v.tagged[t] = true
	}
	return nil
}
