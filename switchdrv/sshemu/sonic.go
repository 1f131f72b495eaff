package sshemu

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// sonicDev models the SONiC command line (sonic-utilities, 202205 and
// later) in a login shell, written from its Command Reference ("config vlan
// add <vid>", "config vlan del <vid>", "config vlan member add [-u] <vid>
// <port>", "config vlan member del <vid> <port>", "config save -y", "show
// vlan config") and from sonic-utilities' own show/config code for the
// table layout and the click errors ("Usage: ...", "Error: Ethernet0 is
// already a member of Vlan100", "Error: VLAN ID 100 can not be removed.
// First remove all members assigned to this VLAN.", "Error: Ethernet8 is a
// router interface!"). VLANs are named Vlan<vid>; the default VLAN is none.
// Configuration commands need root (sudo); a line of commands joined by &&
// stops at the first that fails, as in a shell.
type sonicDev struct {
	cfg     *Config
	vlans   map[int]bool
	members map[int]map[string]string // vid -> port -> tagged | untagged
	known   map[string]bool
	routed  map[string]bool
	order   []string
}

func newSONiC(cfg *Config) *sonicDev {
	if len(cfg.Ports) == 0 {
		for i := 0; i < 48; i++ {
			cfg.Ports = append(cfg.Ports, "Ethernet"+strconv.Itoa(4*i))
		}
	}
	d := &sonicDev{cfg: cfg, vlans: map[int]bool{}, members: map[int]map[string]string{}, known: map[string]bool{}, routed: map[string]bool{}}
	for _, p := range cfg.Ports {
		d.known[p] = true
		d.order = append(d.order, p)
	}
	return d
}

func (d *sonicDev) prompt(c *cli) string {
	if c.mode == "" {
		c.mode = "shell"
	}
	return d.cfg.User + "@" + d.cfg.Hostname + ":~$ "
}

func (d *sonicDev) genericError(c *cli, line string) string {
	return strings.Fields(line)[0] + ": command not found\n"
}

func (d *sonicDev) portError(c *cli, line, port string) string {
	return "Usage: config vlan member add [OPTIONS] <vid> port\nTry \"config vlan member add -h\" for help.\n\nError: " + port + " does not exist\n"
}

func (d *sonicDev) run(c *cli, line string) (string, bool) {
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

// one runs one command; ok is its exit status being 0.
func (d *sonicDev) one(f []string) (string, bool) {
	if len(f) == 0 {
		return "", true
	}
	usage := func(cmd, args, msg string) (string, bool) {
		return fmt.Sprintf("Usage: %s [OPTIONS] %s\nTry \"%s -h\" for help.\n\nError: %s\n", cmd, args, cmd, msg), false
	}
	sudo := f[0] == "sudo"
	if sudo {
		f = f[1:]
	}
	words := strings.Join(f, " ")
	if words == "show vlan config" {
		return d.showConfig(), true
	}
	if len(f) == 0 || f[0] != "config" {
		if len(f) > 0 && f[0] == "show" {
			return "Error: No such command \"" + strings.Join(f[1:], " ") + "\".\n", false
		}
		return strings.Join(f, " ") + ": command not found\n", false
	}
	if !sudo {
		return "Root privileges are required for this operation\n", false
	}
	vid := func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 2 && n <= 4094
	}
	switch {
	case words == "config save -y":
		return "Running command: /usr/local/bin/sonic-cfggen -d --print-data > /etc/sonic/config_db.json\n", true
	case len(f) == 4 && f[1] == "vlan" && f[2] == "add":
		id, ok := vid(f[3])
		if !ok {
			return usage("config vlan add", "<vid>", "Invalid VLAN ID "+f[3]+" (2-4094)")
		}
		if d.vlans[id] {
			return usage("config vlan add", "<vid>", fmt.Sprintf("Vlan%d already exists.", id))
		}
		d.vlans[id] = true
		return "", true
	case len(f) == 4 && f[1] == "vlan" && f[2] == "del":
		id, ok := vid(f[3])
		if !ok {
			return usage("config vlan del", "<vid>", "Invalid VLAN ID "+f[3]+" (2-4094)")
		}
		if !d.vlans[id] {
			return usage("config vlan del", "<vid>", fmt.Sprintf("Vlan%d does not exist", id))
		}
		if len(d.members[id]) > 0 {
			return usage("config vlan del", "<vid>", fmt.Sprintf("VLAN ID %d can not be removed. First remove all members assigned to this VLAN.", id))
		}
		delete(d.vlans, id)
		return "", true
	case len(f) >= 6 && f[1] == "vlan" && f[2] == "member" && (f[3] == "add" || f[3] == "del"):
		args := f[4:]
		mode := "tagged"
		if args[0] == "-u" || args[0] == "--untagged" {
			mode, args = "untagged", args[1:]
		}
		cmd := "config vlan member " + f[3]
		if len(args) != 2 {
			return usage(cmd, "<vid> port", "Got unexpected extra argument")
		}
		id, ok := vid(args[0])
		port := args[1]
		switch {
		case !ok:
			return usage(cmd, "<vid> port", "Invalid VLAN ID "+args[0]+" (2-4094)")
		case !d.vlans[id]:
			return usage(cmd, "<vid> port", fmt.Sprintf("Vlan%d does not exist", id))
		case f[3] == "del" && d.members[id][port] == "":
			return usage(cmd, "<vid> port", fmt.Sprintf("%s is not a member of Vlan%d", port, id))
		case f[3] == "del":
			delete(d.members[id], port)
			return "", true
		case d.members[id][port] != "":
			return usage(cmd, "<vid> port", fmt.Sprintf("%s is already a member of Vlan%d", port, id))
		case !d.known[port]:
			return usage(cmd, "<vid> port", port+" does not exist")
		case d.routed[port]:
			return usage(cmd, "<vid> port", port+" is a router interface!")
		}
		if d.members[id] == nil {
			d.members[id] = map[string]string{}
		}
		d.members[id][port] = mode
		return "", true
	}
	return "Usage: config [OPTIONS] COMMAND [ARGS]...\nTry \"config -h\" for help.\n\nError: No such command \"" + strings.Join(f[1:], " ") + "\".\n", false
}

// showConfig prints `show vlan config`: tabulate's plain layout (two
// spaces between columns, numbers right-aligned, dashes under the
// headers), a row per member and one for a VLAN without any.
func (d *sonicDev) showConfig() string {
	rows := [][]string{}
	for _, id := range d.ids() {
		name := "Vlan" + strconv.Itoa(id)
		ms := d.members[id]
		if len(ms) == 0 {
			rows = append(rows, []string{name, strconv.Itoa(id), "", ""})
		}
		for _, p := range d.order {
			if m := ms[p]; m != "" {
				rows = append(rows, []string{name, strconv.Itoa(id), p, m})
			}
		}
	}
	head := []string{"Name", "VID", "Member", "Mode"}
	w := make([]int, 4)
	for i, h := range head {
		w[i] = len(h)
		for _, r := range rows {
			w[i] = max(w[i], len(r[i]))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		var parts []string
		for i, c := range cells {
			if i == 1 {
				parts = append(parts, fmt.Sprintf("%*s", w[i], c))
			} else {
				parts = append(parts, fmt.Sprintf("%-*s", w[i], c))
			}
		}
		b.WriteString(strings.TrimRight(strings.Join(parts, "  "), " ") + "\n")
	}
	line(head)
	dashes := make([]string, 4)
	for i := range dashes {
		dashes[i] = strings.Repeat("-", w[i])
	}
	line(dashes)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

func (d *sonicDev) ids() []int {
	var ids []int
	for id := range d.vlans {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (d *sonicDev) table() []switchdrv.VLAN {
	var out []switchdrv.VLAN
	for _, id := range d.ids() {
		v := switchdrv.VLAN{ID: id, Name: "Vlan" + strconv.Itoa(id)}
		for _, p := range d.order {
			switch d.members[id][p] {
			case "tagged":
				v.Tagged = append(v.Tagged, p)
			case "untagged":
				v.Untagged = append(v.Untagged, p)
			}
		}
		out = append(out, v)
	}
	return out
}

func (d *sonicDev) portMode(port string) (string, bool) {
	if d.routed[port] {
		return "routed", d.known[port]
	}
	return "", d.known[port]
}

// setPortMode makes a port a router interface ("routed") or a switch port.
func (d *sonicDev) setPortMode(port, mode string) error {
	if !d.known[port] {
		return fmt.Errorf("sshemu: no port %q", port)
	}
	d.routed[port] = mode == "routed"
	return nil
}

func (d *sonicDev) addVLAN(vid int, name string, tagged []string) error {
	d.vlans[vid] = true
	if d.members[vid] == nil {
		d.members[vid] = map[string]string{}
	}
	for _, t := range tagged {
		if !d.known[t] {
			return fmt.Errorf("sshemu: no port %q", t)
		}
		d.members[vid][t] = "tagged"
	}
	return nil
}
