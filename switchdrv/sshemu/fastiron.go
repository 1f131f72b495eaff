package sshemu

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// fastIronDev models Brocade/Ruckus FastIron (ICX 7150/7450/7650, 08.0.x),
// written from the FastIron Command Reference ("vlan vlan-id [ name
// vlan-name ] [ by port ]", "tagged ethernet stackid/slot/port [ to
// stackid/slot/port | ethernet ... ]", "no tagged", "no vlan",
// "skip-page-display", "write memory"; "Invalid input -> word" and "Error
// - " messages) and the ntc-templates transcripts of `show running-config
// vlan` (vlan sections with "tagged ethe 1/1/24 ethe 2/1/1" lists, "to"
// ranges, a trailing blank). Ports have no mode: a port may be tagged in
// any VLAN and stays an untagged member of the default VLAN.
type fastIronDev struct {
	cfg   *Config
	vlans map[int]*pcVLAN
	known map[string]bool
	order []string
}

func newFastIron(cfg *Config) *fastIronDev {
	if len(cfg.Ports) == 0 {
		cfg.Ports = defaultPorts("1/1/", 1)
	}
	d := &fastIronDev{cfg: cfg, vlans: map[int]*pcVLAN{}, known: map[string]bool{}}
	def := &pcVLAN{name: "DEFAULT-VLAN", tagged: map[string]bool{}, untagged: map[string]bool{}}
	for _, p := range cfg.Ports {
		d.order = append(d.order, p)
		d.known[p] = true
		def.untagged[p] = true
	}
	d.vlans[1] = def
	return d
}

func (d *fastIronDev) prompt(c *cli) string {
	if c.mode == "" {
		c.mode, c.more = "enable", "--More--, next page: Space, next line: Return key, quit: Control-c"
	}
	h := "SSH@" + d.cfg.Hostname
	switch c.mode {
	case "config":
		return h + "(config)#"
	case "config-vlan":
		return fmt.Sprintf("%s(config-vlan-%d)#", h, c.vlan)
	}
	return h + "#"
}

func (d *fastIronDev) genericError(c *cli, line string) string {
	return "Invalid input -> " + strings.Fields(line)[0] + "\nType ? for a list\n"
}

func (d *fastIronDev) portError(c *cli, line, port string) string {
	return "Error - invalid ethernet port " + port + "\n"
}

// members parses "ethernet 1/1/1 to 1/1/4 ethernet 1/1/7" (ethe, e too).
func (d *fastIronDev) members(f []string) ([]string, string, bool) {
	var out []string
	sawType := false
	for i := 0; i < len(f); i++ {
		w := strings.ToLower(f[i])
		if strings.HasPrefix("ethernet", w) && w != "" {
			sawType = true
			continue
		}
		if !sawType || !d.known[f[i]] {
			return nil, f[i], false
		}
		if i+2 < len(f) && f[i+1] == "to" {
			prefix, a, _ := splitNum(f[i])
			_, b, _ := splitNum(f[i+2])
			for n := a; n <= b; n++ {
				p := prefix + strconv.Itoa(n)
				if !d.known[p] {
					return nil, f[i+2], false
				}
				out = append(out, p)
			}
			i += 2
			continue
		}
		out = append(out, f[i])
	}
	return out, "", len(out) > 0
}

func (d *fastIronDev) run(c *cli, line string) (string, bool) {
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
		case "skip-page-display":
			c.paging = false
			return "Disable page display mode\n", false
		case "configure terminal":
			c.mode = "config"
			return "", false
		case "write memory":
			return "Write startup-config done.\n", false
		}
		return d.genericError(c, line), false
	}
	switch {
	case f[0] == "vlan" && len(f) >= 2:
		id, err := strconv.Atoi(f[1])
		if err != nil || id < 1 || id > 4094 {
			return "Error - invalid vlan id " + f[1] + "\n", false
		}
		rest := f[2:]
		name := ""
		if len(rest) >= 2 && rest[0] == "name" {
			name, rest = rest[1], rest[2:]
		}
		if len(rest) > 0 && strings.Join(rest, " ") != "by port" {
			return d.genericError(c, strings.Join(rest, " ")), false
		}
		v := d.vlans[id]
		if v == nil {
			v = &pcVLAN{tagged: map[string]bool{}, untagged: map[string]bool{}}
			d.vlans[id] = v
		}
		if name != "" {
			v.name = name
		}
		c.mode, c.vlan = "config-vlan", id
		return "", false
	case f[0] == "no" && len(f) == 3 && f[1] == "vlan":
		id, err := strconv.Atoi(f[2])
		if err != nil || id < 2 || id > 4094 {
			return "Error - invalid vlan id " + f[2] + "\n", false
		}
		delete(d.vlans, id)
		return "", false
	}
	if c.mode == "config-vlan" {
		no := f[0] == "no"
		if no {
			f = f[1:]
		}
		if len(f) >= 2 && (f[0] == "tagged" || f[0] == "untagged") {
			ps, bad, ok := d.members(f[1:])
			if !ok {
				return "Error - invalid ethernet port " + bad + "\n", false
			}
			v := d.vlans[c.vlan]
			set := v.tagged
			if f[0] == "untagged" {
				set = v.untagged
			}
			for _, p := range ps {
				if no {
					delete(set, p)
				} else {
					set[p] = true
				}
			}
			if !no {
				return fmt.Sprintf("Added %s port(s) ethe %s to port-vlan %d.\n", f[0], strings.Join(ps, " ethe "), c.vlan), false
			}
			return "", false
		}
	}
	return d.genericError(c, line), false
}

// running prints `show running-config` with the vlan sections as the
// transcripts show them: ranges with "to", "ethe" before each item.
func (d *fastIronDev) running() string {
	var b strings.Builder
	b.WriteString("Current configuration:\n!\nver 08.0.95dT213\n!\nstack unit 1\n  module 1 icx7150-48-port-management-module\n!\n")
	ids := slices.Sorted(maps.Keys(d.vlans))
	for _, id := range ids {
		v := d.vlans[id]
		if v.name != "" {
			fmt.Fprintf(&b, "vlan %d name %s by port\n", id, v.name)
		} else {
			fmt.Fprintf(&b, "vlan %d by port\n", id)
		}
		if id != 1 {
			for _, kind := range []string{"tagged", "untagged"} {
				set := v.tagged
				if kind == "untagged" {
					set = v.untagged
				}
				if list := d.ranges(set); list != "" {
					fmt.Fprintf(&b, " %s %s \n", kind, list)
				}
			}
		}
		b.WriteString("!\n")
	}
	b.WriteString("hostname " + d.cfg.Hostname + "\n!\nip ssh  idle-time 30\n!\nend\n")
	return b.String()
}

// ranges writes a member set as "ethe 1/1/1 to 1/1/4 ethe 1/1/7".
func (d *fastIronDev) ranges(set map[string]bool) string {
	var items []string
	for i := 0; i < len(d.order); i++ {
		if !set[d.order[i]] {
			continue
		}
		j := i
		for j+1 < len(d.order) && set[d.order[j+1]] {
			j++
		}
		if j > i {
			items = append(items, "ethe "+d.order[i]+" to "+d.order[j])
		} else {
			items = append(items, "ethe "+d.order[i])
		}
		i = j
	}
	return strings.Join(items, " ")
}

func (d *fastIronDev) table() []switchdrv.VLAN {
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

func (d *fastIronDev) portMode(port string) (string, bool) { return "", d.known[port] }

func (d *fastIronDev) setPortMode(port, mode string) error {
	return fmt.Errorf("sshemu: FastIron ports have no mode")
}

func (d *fastIronDev) addVLAN(vid int, name string, tagged []string) error {
	v := &pcVLAN{name: name, tagged: map[string]bool{}, untagged: map[string]bool{}}
	for _, t := range tagged {
		if !d.known[t] {
			return fmt.Errorf("sshemu: no port %q", t)
		}
		v.tagged[t] = true
	}
	d.vlans[vid] = v
	return nil
}
