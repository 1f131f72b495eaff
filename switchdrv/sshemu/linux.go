package sshemu

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// linuxDev models a Linux bridge with vlan_filtering 1 behind a root shell,
// answering iproute2's `bridge` the way it answers; in exec mode the lines
// run for real instead.
type linuxDev struct {
	cfg    *Config
	bridge string
	order  []string
	ports  map[string]map[int]lxFlags
}

type lxFlags struct{ pvid, untagged bool }

func newLinux(cfg *Config) *linuxDev {
	if len(cfg.Ports) == 0 {
		cfg.Ports = defaultPorts("swp", 1)
	}
	d := &linuxDev{cfg: cfg, bridge: "br0", ports: map[string]map[int]lxFlags{}}
	for _, p := range append([]string{d.bridge}, cfg.Ports...) {
		d.order = append(d.order, p)
		d.ports[p] = map[int]lxFlags{1: {pvid: true, untagged: true}}
	}
	return d
}

func (d *linuxDev) prompt(c *cli) string {
	c.mode = "shell"
	return "root@" + d.cfg.Hostname + ":~# "
}

func (d *linuxDev) genericError(c *cli, line string) string {
	return "-bash: " + strings.Fields(line)[0] + ": command not found\n"
}

func (d *linuxDev) portError(c *cli, line, port string) string {
	return fmt.Sprintf("Cannot find bridge device %q\n", port)
}

var batchRE = regexp.MustCompile(`^printf '%s\\n'((?: '[^']*')*) \| bridge -batch -$`)
var quotedRE = regexp.MustCompile(`'([^']*)'`)

func (d *linuxDev) run(c *cli, line string) (string, bool) {
	switch line {
	case "exit", "logout":
		return "logout\n", true
	}
	// A list joined with && stops at the first command that fails.
	var out strings.Builder
	for _, part := range strings.Split(line, " && ") {
		o, ok := d.runOne(c, strings.TrimSpace(part))
		out.WriteString(o)
		if !ok {
			break
		}
	}
	return out.String(), false
}

func (d *linuxDev) runOne(c *cli, line string) (string, bool) {
	f := strings.Fields(line)
	switch {
	case len(f) == 0:
		return "", true
	case line == "bridge -j vlan show" || line == "bridge -json vlan show":
		return d.showJSON(), true
	case f[0] == "bridge" && len(f) > 1:
		return d.bridgeCmd(f[1:])
	case batchRE.MatchString(line):
		m := batchRE.FindStringSubmatch(line)
		for i, q := range quotedRE.FindAllStringSubmatch(m[1], -1) {
			if out, ok := d.bridgeCmd(strings.Fields(q[1])); !ok {
				return out + fmt.Sprintf("Command failed -:%d\n", i+1), false
			}
		}
		return "", true
	}
	return d.genericError(c, line), false
}

// bridgeCmd runs the arguments of one `bridge` command.
func (d *linuxDev) bridgeCmd(a []string) (string, bool) {
	usage := "Device and VLAN ID are required arguments.\n"
	if len(a) < 2 || a[0] != "vlan" || a[1] != "add" && a[1] != "del" {
		return fmt.Sprintf("Command \"%s\" is unknown, try \"bridge help\".\n", strings.Join(a, " ")), false
	}
	var dev string
	vid := -1
	var fl lxFlags
	for i := 2; i < len(a); i++ {
		switch a[i] {
		case "dev", "vid":
			if i+1 >= len(a) {
				return usage, false
			}
			if a[i] == "dev" {
				dev = a[i+1]
			} else if n, err := strconv.Atoi(a[i+1]); err == nil {
				vid = n
			} else {
				return fmt.Sprintf("Error: argument %q is wrong: invalid VLAN id\n", a[i+1]), false
			}
			i++
		case "pvid":
			fl.pvid = true
		case "untagged":
			fl.untagged = true
		case "master", "self":
		default:
			return usage, false
		}
	}
	if dev == "" || vid < 0 {
		return usage, false
	}
	if vid < 1 || vid > 4094 {
		return fmt.Sprintf("Invalid VLAN ID \"%d\"\n", vid), false
	}
	vs := d.ports[dev]
	if vs == nil {
		return fmt.Sprintf("Cannot find bridge device %q\n", dev), false
	}
	if a[1] == "add" {
		if fl.pvid {
			for id, f := range vs {
				f.pvid = false
				vs[id] = f
			}
		}
		vs[vid] = fl
		return "", true
	}
	if _, ok := vs[vid]; !ok {
		return "RTNETLINK answers: No such file or directory\n", false
	}
	delete(vs, vid)
	return "", true
}

func (d *linuxDev) showJSON() string {
	type entry struct {
		VLAN  int      `json:"vlan"`
		Flags []string `json:"flags,omitempty"`
	}
	type port struct {
		IfName string  `json:"ifname"`
		VLANs  []entry `json:"vlans"`
	}
	var out []port
	for _, p := range d.order {
		vs := d.ports[p]
		if len(vs) == 0 {
			continue
		}
		pe := port{IfName: p}
		ids := make([]int, 0, len(vs))
		for id := range vs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			e := entry{VLAN: id}
			if vs[id].pvid {
				e.Flags = append(e.Flags, "PVID")
			}
			if vs[id].untagged {
				e.Flags = append(e.Flags, "Egress Untagged")
			}
			pe.VLANs = append(pe.VLANs, e)
		}
		out = append(out, pe)
	}
	b, _ := json.Marshal(out)
	return string(b) + "\n"
}

// exec runs one shell line for real (Config.Exec).
func (d *linuxDev) exec(c *cli, line string) (string, bool) {
	if line == "exit" || line == "logout" {
		return "logout\n", true
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	argv := append(slices.Clone(d.cfg.Exec), line)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	s := string(out)
	if err != nil && len(out) == 0 {
		s = fmt.Sprintf("-bash: %v\n", err)
	}
	return s, false
}

func (d *linuxDev) table() []switchdrv.VLAN {
	byID := map[int]*switchdrv.VLAN{}
	for _, p := range d.order {
		for id, f := range d.ports[p] {
			v := byID[id]
			if v == nil {
				v = &switchdrv.VLAN{ID: id}
				byID[id] = v
			}
			if f.untagged {
				v.Untagged = append(v.Untagged, p)
			} else {
				v.Tagged = append(v.Tagged, p)
			}
		}
	}
	var out []switchdrv.VLAN
	for _, v := range byID {
		out = append(out, *v)
	}
	return sortVLANs(out)
}

func (d *linuxDev) portMode(port string) (string, bool) {
	_, ok := d.ports[port]
	return "", ok
}

func (d *linuxDev) setPortMode(port, mode string) error {
	return fmt.Errorf("sshemu: linux bridge ports have no mode")
}

func (d *linuxDev) addVLAN(vid int, name string, tagged []string) error {
	for _, t := range tagged {
		vs := d.ports[t]
		if vs == nil {
			return fmt.Errorf("sshemu: no port %q", t)
		}
		vs[vid] = lxFlags{}
	}
	return nil
}
