package sshemu

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// junosDev models Junos with ELS: a committed configuration and a candidate
// changed by set/delete, checked and activated by commit.
type junosDev struct {
	cfg          *Config
	order        []string
	active, cand *junosConf
}

type junosConf struct {
	vlans map[string]int // name -> vlan-id
	ifs   map[string]*junosIf
}

type junosIf struct {
	mode    string // trunk | access | "" (ELS default: access)
	members []string
}

var junosIfRE = regexp.MustCompile(`^(ge|xe|et|mge)-\d{1,2}/\d{1,2}/\d{1,3}$`)
var junosNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

func (c *junosConf) clone() *junosConf {
	n := &junosConf{vlans: maps.Clone(c.vlans), ifs: map[string]*junosIf{}}
	for k, v := range c.ifs {
		n.ifs[k] = &junosIf{mode: v.mode, members: slices.Clone(v.members)}
	}
	return n
}

func (c *junosConf) equal(o *junosConf) bool {
	if !maps.Equal(c.vlans, o.vlans) || len(c.ifs) != len(o.ifs) {
		return false
	}
	for k, v := range c.ifs {
		w := o.ifs[k]
		if w == nil || w.mode != v.mode || !slices.Equal(v.members, w.members) {
			return false
		}
	}
	return true
}

func newJunos(cfg *Config) *junosDev {
	if len(cfg.Ports) == 0 {
		cfg.Ports = defaultPorts("ge-0/0/", 0)
	}
	d := &junosDev{cfg: cfg, active: &junosConf{vlans: map[string]int{"default": 1}, ifs: map[string]*junosIf{}}}
	for _, p := range cfg.Ports {
		d.order = append(d.order, p)
		d.active.ifs[p] = &junosIf{mode: "trunk", members: []string{"default"}}
	}
	d.cand = d.active.clone()
	return d
}

func (d *junosDev) prompt(c *cli) string {
	if c.mode == "" {
		c.mode, c.more = "operational", "---(more)---"
	}
	p := d.cfg.User + "@" + d.cfg.Hostname
	switch c.mode {
	case "config":
		return "\n[edit]\n" + p + "# "
	case "confirm-exit":
		return "Exit with uncommitted changes? [yes,no] (yes) "
	}
	return p + "> "
}

func (d *junosDev) genericError(c *cli, line string) string {
	return caret(d.prompt(c), line, strings.Fields(line)[0]) + "syntax error.\n"
}

func (d *junosDev) portError(c *cli, line, port string) string {
	return caret(d.promptLine(c), line, port) + "syntax error.\n"
}

func (d *junosDev) promptLine(c *cli) string {
	p := d.prompt(c)
	return p[strings.LastIndex(p, "\n")+1:]
}

func (d *junosDev) run(c *cli, line string) (string, bool) {
	f := strings.Fields(line)
	syntax := func(word string) (string, bool) {
		return caret(d.promptLine(c), line, word) + "syntax error.\n", false
	}
	switch c.mode {
	case "confirm-exit":
		switch line {
		case "yes", "":
			d.cand = d.active.clone()
			c.mode = "operational"
			return "Exiting configuration mode\n", false
		case "no":
			c.mode = "config"
			return "", false
		}
		return "", false
	case "operational":
		switch line {
		case "set cli screen-length 0":
			c.paging = false
			return "Screen length set to 0\n", false
		case "set cli screen-width 0":
			return "Screen width set to 0\n", false
		case "show configuration | display set":
			return d.displaySet(d.active), false
		case "configure", "configure private", "edit":
			c.mode = "config"
			return "Entering configuration mode\n", false
		case "exit", "quit":
			return "", true
		}
		if f[0] == "set" || f[0] == "show" {
			return syntax(f[len(f)-1])
		}
		return "\n" + caret(d.promptLine(c), line, f[0]) + "unknown command.\n", false
	}
	switch {
	case line == "commit" || line == "commit and-quit":
		if errs := d.check(d.cand); errs != "" {
			return errs + "error: configuration check-out failed\n", false
		}
		d.active = d.cand.clone()
		if line == "commit and-quit" {
			c.mode = "operational"
			return "commit complete\nExiting configuration mode\n", false
		}
		return "commit complete\n", false
	case line == "rollback" || line == "rollback 0":
		d.cand = d.active.clone()
		return "load complete\n", false
	case line == "exit" || line == "quit" || line == "exit configuration-mode":
		if !d.cand.equal(d.active) {
			c.mode = "confirm-exit"
			return "The configuration has been changed but not committed\n", false
		}
		c.mode = "operational"
		return "Exiting configuration mode\n", false
	case line == "show | display set":
		return d.displaySet(d.cand), false
	case f[0] != "set" && f[0] != "delete":
		return syntax(f[0])
	}
	set := f[0] == "set"
	switch {
	case len(f) >= 2 && f[1] == "vlans":
		if len(f) == 2 && !set {
			d.cand.vlans = map[string]int{}
			return "", false
		}
		if len(f) < 3 || !junosNameRE.MatchString(f[2]) {
			return syntax(f[min(2, len(f)-1)])
		}
		name := f[2]
		if !set && len(f) == 3 {
			if _, ok := d.cand.vlans[name]; !ok {
				return "warning: statement not found\n", false
			}
			delete(d.cand.vlans, name)
			return "", false
		}
		if len(f) != 5 || f[3] != "vlan-id" {
			return syntax(f[min(3, len(f)-1)])
		}
		id, err := strconv.Atoi(f[4])
		if err != nil || id < 1 || id > 4094 {
			return fmt.Sprintf("error: value %s is not within range (1..4094)\n", f[4]), false
		}
		if set {
			d.cand.vlans[name] = id
		} else if d.cand.vlans[name] == id {
			delete(d.cand.vlans, name)
		}
		return "", false
	case len(f) >= 3 && f[1] == "interfaces":
		p := f[2]
		if !junosIfRE.MatchString(p) {
			return syntax(p)
		}
		want := []string{"unit", "0", "family", "ethernet-switching"}
		if len(f) < 7 || !slices.Equal(f[3:7], want) {
			return syntax(f[min(3, len(f)-1)])
		}
		ifc := d.cand.ifs[p]
		if ifc == nil {
			if !set {
				return "warning: statement not found\n", false
			}
			ifc = &junosIf{}
			d.cand.ifs[p] = ifc
		}
		rest := f[7:]
		switch {
		case len(rest) == 2 && rest[0] == "interface-mode" && (rest[1] == "trunk" || rest[1] == "access"):
			if set {
				ifc.mode = rest[1]
			} else {
				ifc.mode = ""
			}
		case len(rest) == 3 && rest[0] == "vlan" && rest[1] == "members":
			m := rest[2]
			i := slices.Index(ifc.members, m)
			switch {
			case set && i < 0:
				ifc.members = append(ifc.members, m)
			case !set && i < 0:
				return "warning: statement not found\n", false
			case !set:
				ifc.members = slices.Delete(ifc.members, i, i+1)
			}
		case len(rest) == 0 && set:
		default:
			if len(rest) == 0 {
				return "", false
			}
			return syntax(rest[0])
		}
		return "", false
	}
	return syntax(f[min(1, len(f)-1)])
}

// check is commit's validation of a candidate.
func (d *junosDev) check(c *junosConf) string {
	var b strings.Builder
	byID := map[int]string{}
	for _, name := range slices.Sorted(maps.Keys(c.vlans)) {
		id := c.vlans[name]
		if o, dup := byID[id]; dup {
			fmt.Fprintf(&b, "[edit vlans %s]\n  'vlan-id %d'\n    vlan-id %d is already used by vlan %s\n", name, id, id, o)
		}
		byID[id] = name
	}
	for _, p := range slices.Sorted(maps.Keys(c.ifs)) {
		ifc := c.ifs[p]
		for _, m := range ifc.members {
			_, byName := c.vlans[m]
			n, err := strconv.Atoi(m)
			if !byName && (err != nil || byID[n] == "") {
				fmt.Fprintf(&b, "[edit interfaces %s unit 0 family ethernet-switching vlan]\n  'members %s'\n    Referenced VLAN %s is not defined\n", p, m, m)
			}
		}
		if ifc.mode != "trunk" && len(ifc.members) > 1 {
			fmt.Fprintf(&b, "[edit interfaces %s unit 0 family ethernet-switching]\n  'vlan'\n    Access interface %s.0 can not have more than one vlan member\n", p, p)
		}
	}
	return b.String()
}

func (d *junosDev) displaySet(c *junosConf) string {
	var b strings.Builder
	b.WriteString("## Last commit: 2026-01-05 09:12:44 UTC by admin\nset version 20.4R3.8\nset system host-name " + d.cfg.Hostname + "\n")
	ports := slices.SortedFunc(maps.Keys(c.ifs), func(a, b string) int {
		return slices.Index(d.order, a) - slices.Index(d.order, b)
	})
	for _, p := range ports {
		ifc := c.ifs[p]
		pre := "set interfaces " + p + " unit 0 family ethernet-switching"
		if ifc.mode == "" && len(ifc.members) == 0 {
			b.WriteString(pre + "\n")
		}
		if ifc.mode != "" {
			b.WriteString(pre + " interface-mode " + ifc.mode + "\n")
		}
		for _, m := range ifc.members {
			b.WriteString(pre + " vlan members " + m + "\n")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.vlans)) {
		fmt.Fprintf(&b, "set vlans %s vlan-id %d\n", name, c.vlans[name])
	}
	return b.String()
}

func (d *junosDev) table() []switchdrv.VLAN {
	var out []switchdrv.VLAN
	for name, id := range d.active.vlans {
		v := switchdrv.VLAN{ID: id, Name: name}
		for _, p := range d.order {
			ifc := d.active.ifs[p]
			if ifc == nil || !slices.Contains(ifc.members, name) && !slices.Contains(ifc.members, strconv.Itoa(id)) {
				continue
			}
			if ifc.mode == "trunk" {
				v.Tagged = append(v.Tagged, p)
			} else {
				v.Untagged = append(v.Untagged, p)
			}
		}
		out = append(out, v)
	}
	return sortVLANs(out)
}

func (d *junosDev) portMode(port string) (string, bool) {
	ifc := d.active.ifs[port]
	if ifc == nil {
		return "", false
	}
	if ifc.mode == "" {
		return "access", true
	}
	return ifc.mode, true
}

func (d *junosDev) setPortMode(port, mode string) error {
	if mode != "trunk" && mode != "access" {
		return fmt.Errorf("sshemu: bad mode %q", mode)
	}
	for _, c := range []*junosConf{d.active, d.cand} {
		ifc := c.ifs[port]
		if ifc == nil {
			ifc = &junosIf{}
			c.ifs[port] = ifc
		}
		ifc.mode = mode
		if mode == "access" && len(ifc.members) > 1 {
			ifc.members = ifc.members[:1]
		}
	}
	return nil
}

func (d *junosDev) addVLAN(vid int, name string, tagged []string) error {
	for _, c := range []*junosConf{d.active, d.cand} {
		c.vlans[name] = vid
		for _, t := range tagged {
			ifc := c.ifs[t]
			if ifc == nil {
				return fmt.Errorf("sshemu: no port %q", t)
			}
			ifc.members = append(ifc.members, name)
		}
	}
	return nil
}
