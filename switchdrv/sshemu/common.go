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
