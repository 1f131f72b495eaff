package sshemu

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// vlanSet is a set of VLAN IDs; nil in an allowed list means "all".
type vlanSet map[int]bool

// parseList parses "1,100,200-205" into IDs.
func parseList(s string) ([]int, bool) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 1 || b < a || b > 4094 {
			return nil, false
		}
		for v := a; v <= b; v++ {
			out = append(out, v)
		}
	}
	return out, true
}

// formatList writes IDs as "1,100,200-205".
func formatList(ids []int) string {
	slices.Sort(ids)
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(ids[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", ids[i], ids[j]))
		}
		i = j + 1
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

func (s vlanSet) ids() []int {
	var ids []int
	for id := range s {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// defaultPorts names 48 ports with a prefix.
func defaultPorts(prefix string, first int) []string {
	var ps []string
	for i := first; i < first+48; i++ {
		ps = append(ps, prefix+strconv.Itoa(i))
	}
	return ps
}

// splitNum splits "Gi1/0/12" into "Gi1/0/" and 12.
func splitNum(s string) (string, int, bool) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) {
		return s, 0, false
	}
	n, err := strconv.Atoi(s[i:])
	return s[:i], n, err == nil
}

func sortVLANs(vs []switchdrv.VLAN) []switchdrv.VLAN {
	slices.SortFunc(vs, func(a, b switchdrv.VLAN) int { return a.ID - b.ID })
	return vs
}

// wrapList writes items joined by sep, breaking lines at width and
// indenting continuation lines by indent spaces.
func wrapList(items []string, sep string, width, indent int) string {
	var b strings.Builder
	col := 0
	for i, it := range items {
		piece := it
		if i < len(items)-1 {
			piece += sep
		}
		if col > 0 && col+len(piece) > width {
			b.WriteString("\n" + strings.Repeat(" ", indent))
			col = 0
		}
		b.WriteString(piece)
		col += len(piece)
	}
	return b.String()
}

// leave runs `end` and `exit` on a CLI whose modes nest under top (the
// privileged exec mode) and "config": `end` returns to top from any
// configuration mode, `exit` climbs one mode and logs out from top. ok is
// false for any other command. A device without `end` passes withEnd false.
func leave(c *cli, word, top string, withEnd bool) (quit, ok bool) {
	switch {
	case word == "end" && withEnd && c.mode != top:
		c.mode = top
		return false, true
	case word == "exit":
		switch c.mode {
		case top:
			return true, true
		case "config":
			c.mode = top
		default:
			c.mode = "config"
		}
		return false, true
	}
	return false, false
}

// trunkTable is the state the IOS-like models share (IOS, EOS, NX-OS,
// Onyx): named VLANs, and ports that are trunks with an allowed list (nil:
// every VLAN) or access ports in one VLAN.
type trunkTable struct {
	vlans map[int]string
	ports map[string]*iosPort
	order []string
}

func (d *trunkTable) carries(p *iosPort, id int) bool {
	return p.allowed == nil || p.allowed[id]
}

func (d *trunkTable) table() []switchdrv.VLAN {
	var out []switchdrv.VLAN
	for id, name := range d.vlans {
		v := switchdrv.VLAN{ID: id, Name: name}
		for _, pn := range d.order {
			p := d.ports[pn]
			switch {
			case p.mode == "trunk" && d.carries(p, id):
				v.Tagged = append(v.Tagged, pn)
			case p.mode == "access" && p.access == id:
				v.Untagged = append(v.Untagged, pn)
			}
		}
		out = append(out, v)
	}
	return sortVLANs(out)
}

func (d *trunkTable) portMode(port string) (string, bool) {
	p := d.ports[port]
	if p == nil {
		return "", false
	}
	return p.mode, true
}

func (d *trunkTable) setPortMode(port, mode string) error {
	p := d.ports[port]
	if p == nil || mode != "trunk" && mode != "access" && mode != "hybrid" {
		return fmt.Errorf("sshemu: no port %q or bad mode %q", port, mode)
	}
	p.mode = mode
	return nil
}

func (d *trunkTable) addVLAN(vid int, name string, tagged []string) error {
	d.vlans[vid] = name
	for _, t := range tagged {
		p := d.ports[t]
		if p == nil {
			return fmt.Errorf("sshemu: no port %q", t)
		}
		if p.allowed != nil {
			p.allowed[vid] = true
		}
	}
	return nil
}
