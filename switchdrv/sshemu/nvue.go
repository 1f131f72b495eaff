package sshemu

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// nvueDev models Cumulus Linux 5.x driven through NVUE in a login shell,
// written from the NVUE Command Reference and the Cumulus Linux User Guide
// ("nv set bridge domain br_default vlan <vid>", "nv set interface <ifs>
// bridge domain br_default vlan <vid>" and their "nv unset" forms staging a
// pending revision; "nv config apply -y" activating it after checking it,
// "nv config detach" discarding it, "nv config save"; "nv config show -o
// commands" printing the applied configuration as commands, with interface
// and VLAN ranges such as "swp1-4,swp7" and "10,20-30"; a bridge port
// without a VLAN list carries every VLAN of its domain) and the
// networking-generic-switch Cumulus NVUE device's sequences.
type nvueDev struct {
	cfg              *Config
	order            []string
	applied, pending *nvueConf
}

type nvueConf struct {
	vlans vlanSet            // the bridge domain's VLANs
	ports map[string]vlanSet // bridge members; nil set: every VLAN
}

func (c *nvueConf) clone() *nvueConf {
	n := &nvueConf{vlans: maps.Clone(c.vlans), ports: map[string]vlanSet{}}
	for p, s := range c.ports {
		n.ports[p] = maps.Clone(s)
	}
	return n
}

func newNVUE(cfg *Config) *nvueDev {
	if len(cfg.Ports) == 0 {
		cfg.Ports = defaultPorts("swp", 1)
	}
	d := &nvueDev{cfg: cfg, applied: &nvueConf{vlans: vlanSet{1: true}, ports: map[string]vlanSet{}}}
	for _, p := range cfg.Ports {
		d.order = append(d.order, p)
		d.applied.ports[p] = vlanSet{1: true}
	}
	d.pending = d.applied.clone()
	return d
}

func (d *nvueDev) prompt(c *cli) string {
	if c.mode == "" {
		c.mode = "shell"
	}
	return d.cfg.User + "@" + d.cfg.Hostname + ":mgmt:~$ "
}

func (d *nvueDev) genericError(c *cli, line string) string {
	return "Error: Invalid Command: " + line + "\n"
}

func (d *nvueDev) portError(c *cli, line, port string) string {
	return "Error: '" + port + "' is not a valid interface name\n"
}

func (d *nvueDev) run(c *cli, line string) (string, bool) {
	if line == "exit" || line == "logout" {
		return "", true
	}
	var out strings.Builder
	for _, cmd := range strings.Split(line, "&&") {
		text, ok := d.one(strings.Fields(cmd))
		out.WriteString(text)
		if !ok {
			break
		}
	}
	return out.String(), false
}

// ifaces expands "swp1-4,swp7".
func (d *nvueDev) ifaces(s string) ([]string, string, bool) {
	var out []string
	for _, item := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		if !isRange {
			if !slices.Contains(d.order, lo) {
				return nil, item, false
			}
			out = append(out, lo)
			continue
		}
		prefix, a, _ := splitNum(lo)
		b, err := strconv.Atoi(hi)
		if err != nil || b < a {
			return nil, item, false
		}
		for n := a; n <= b; n++ {
			p := prefix + strconv.Itoa(n)
			if !slices.Contains(d.order, p) {
				return nil, p, false
			}
			out = append(out, p)
		}
	}
	return out, "", true
}

// one runs one command; ok is its exit status being 0.
func (d *nvueDev) one(f []string) (string, bool) {
	words := strings.Join(f, " ")
	switch words {
	case "":
		return "", true
	case "nv config show -o commands":
		return d.show(), true
	case "nv config apply -y":
		for p, s := range d.pending.ports {
			for id := range s {
				if !d.pending.vlans[id] {
					return fmt.Sprintf("Invalid config [rev_id: 2]\n  Interface %s: vlan %d is not a vlan of bridge domain br_default\n", p, id), false
				}
			}
		}
		d.applied = d.pending.clone()
		return "applied [rev_id: 2]\n", true
	case "nv config detach":
		d.pending = d.applied.clone()
		return "", true
	case "nv config save":
		return "saved [rev_id: 2]\n", true
	}
	if len(f) < 2 || f[0] != "nv" || f[1] != "set" && f[1] != "unset" {
		if len(f) > 0 && f[0] == "nv" {
			return "Error: Invalid Command: " + words + "\n", false
		}
		return f[0] + ": command not found\n", false
	}
	set := f[1] == "set"
	rest := f[2:]
	vids := func(s string) ([]int, bool) { return parseList(s) }
	switch {
	case len(rest) == 5 && rest[0] == "bridge" && rest[1] == "domain" && rest[2] == "br_default" && rest[3] == "vlan":
		ids, ok := vids(rest[4])
		if !ok {
			return "Error: Invalid value: " + rest[4] + "\n", false
		}
		for _, id := range ids {
			if set {
				d.pending.vlans[id] = true
			} else {
				delete(d.pending.vlans, id)
			}
		}
		return "", true
	case len(rest) >= 5 && rest[0] == "interface" && rest[2] == "bridge" && rest[3] == "domain" && rest[4] == "br_default":
		ps, bad, ok := d.ifaces(rest[1])
		if !ok {
			return "Error: '" + bad + "' is not a valid interface name\n", false
		}
		var ids []int
		if len(rest) == 7 && rest[5] == "vlan" {
			if ids, ok = vids(rest[6]); !ok {
				return "Error: Invalid value: " + rest[6] + "\n", false
			}
		} else if len(rest) != 5 {
			return "Error: Invalid Command: " + words + "\n", false
		}
		for _, p := range ps {
			s, member := d.pending.ports[p]
			switch {
			case !set && len(ids) == 0:
				delete(d.pending.ports, p)
			case set && len(ids) == 0:
				if !member {
					d.pending.ports[p] = nil
				}
			case set:
				if s == nil {
					s = vlanSet{}
				}
				for _, id := range ids {
					s[id] = true
				}
				d.pending.ports[p] = s
			case member && s != nil:
				for _, id := range ids {
					delete(s, id)
				}
			}
		}
		return "", true
	}
	return "Error: Invalid Command: " + words + "\n", false
}

// show prints the applied configuration as `nv set` commands, interfaces
// with the same VLAN list grouped into ranges.
func (d *nvueDev) show() string {
	var b strings.Builder
	b.WriteString("nv set system hostname " + d.cfg.Hostname + "\n")
	fmt.Fprintf(&b, "nv set bridge domain br_default vlan %s\n", formatList(d.applied.vlans.ids()))
	groups := map[string][]string{}
	var keys []string
	for _, p := range d.order {
		s, ok := d.applied.ports[p]
		if !ok {
			continue
		}
		k := ""
		if s != nil {
			k = formatList(s.ids())
		}
		if _, seen := groups[k]; !seen {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], p)
	}
	for _, k := range keys {
		ifs := d.ranges(groups[k])
		if k == "" {
			fmt.Fprintf(&b, "nv set interface %s bridge domain br_default\n", ifs)
		} else {
			fmt.Fprintf(&b, "nv set interface %s bridge domain br_default vlan %s\n", ifs, k)
		}
	}
	b.WriteString("nv set interface eth0 ip vrf mgmt\n")
	return b.String()
}

// ranges writes interfaces as "swp1-4,swp7".
func (d *nvueDev) ranges(ps []string) string {
	var items []string
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && slices.Index(d.order, ps[j+1]) == slices.Index(d.order, ps[j])+1 {
			j++
		}
		it := ps[i]
		if j > i {
			_, n, _ := splitNum(ps[j])
			it += "-" + strconv.Itoa(n)
		}
		items = append(items, it)
		i = j + 1
	}
	return strings.Join(items, ",")
}

func (d *nvueDev) table() []switchdrv.VLAN {
	var out []switchdrv.VLAN
	for _, id := range d.applied.vlans.ids() {
		v := switchdrv.VLAN{ID: id}
		for _, p := range d.order {
			s, ok := d.applied.ports[p]
			if ok && (s == nil || s[id]) {
				v.Tagged = append(v.Tagged, p)
			}
		}
		out = append(out, v)
	}
	return out
}

func (d *nvueDev) portMode(port string) (string, bool) {
	s, ok := d.applied.ports[port]
	if !ok {
		return "", slices.Contains(d.order, port)
	}
	if s == nil {
		return "all-vlans", true
	}
	return "trunk", true
}

// setPortMode gives a port every VLAN of the domain ("all-vlans") or an
// explicit list ("trunk").
func (d *nvueDev) setPortMode(port, mode string) error {
	if !slices.Contains(d.order, port) {
		return fmt.Errorf("sshemu: no port %q", port)
	}
	if mode == "all-vlans" {
		d.applied.ports[port] = nil
	} else if d.applied.ports[port] == nil {
		d.applied.ports[port] = vlanSet{1: true}
	}
	d.pending = d.applied.clone()
	return nil
}

func (d *nvueDev) addVLAN(vid int, name string, tagged []string) error {
	d.applied.vlans[vid] = true
	for _, t := range tagged {
		s, ok := d.applied.ports[t]
		if !ok {
			return fmt.Errorf("sshemu: no port %q", t)
		}
		if s != nil {
			s[vid] = true
		}
	}
	d.pending = d.applied.clone()
	return nil
}
