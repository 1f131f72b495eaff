package ssh

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// State is what the driver reads from a device before it changes anything:
// the VLAN table and, for dialects whose ports have one, each port's mode.
type State struct {
	VLANs map[int]*switchdrv.VLAN
	// Modes maps a port to "trunk", "access" or what else the device says;
	// nil when the dialect has no port modes.
	Modes map[string]string
	// Allowed is each trunk's allowed VLAN list where the device keeps one
	// apart from the VLAN table (IOS, EOS): a trunk can still allow a VLAN
	// that was deleted, and would carry it again once it is re-created.
	Allowed map[string]vlanRanges
}

// carriers returns the ports that carry vid tagged, or would once it exists.
func (s *State) carriers(vid int) []string {
	var ps []string
	if v := s.VLANs[vid]; v != nil {
		ps = append(ps, v.Tagged...)
	}
	for p, r := range s.Allowed {
		if s.Modes[p] == "trunk" && r.has(vid) && !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// parser reads the outputs of a read's commands, one per command; name
// turns a port name as the device printed it into the dialect's one form.
type parser func(outputs []string, name func(string) string) (*State, error)

var parsers = map[string]parser{
	"ios":          parseIOS,
	"ios-config":   parseIOSConfig,
	"vrp-config":   parseVRPConfig,
	"fastiron":     parseFastIron,
	"sonic":        parseSONiC,
	"os10-config":  parseOS10Config,
	"os9-config":   parseOS9Config,
	"onyx-config":  parseOnyxConfig,
	"dnos6-config": parseDNOS6Config,
	"nvue":         parseNVUE,
	"procurve":     parseProCurve,
	"junos":        parseJunos,
	"linux-bridge": parseLinuxBridge,
}

// Parse runs the parser of one of a dialect's reads on the outputs of its
// commands, and names every port in the dialect's one form.
func (d *Dialect) Parse(read int, outputs []string) (*State, error) {
	r := d.Reads[read]
	if len(outputs) != len(r.Commands) {
		return nil, fmt.Errorf("parse %s: %d outputs for %d commands", d.Name, len(outputs), len(r.Commands))
	}
	// A port is named in several outputs and lines: each form is turned
	// into the one form once per read.
	names := map[string]string{}
	name := func(p string) string {
		c, ok := names[p]
		if !ok {
			c = d.canonicalOrSelf(p)
			names[p] = c
		}
		return c
	}
	st, err := r.parse(outputs, name)
	if err != nil {
		return nil, err
	}
	st.canonical(name)
	return st, nil
}

// canonical renames every port as name (the dialect's Canonical) names it:
// the device prints GigabitEthernet1/0/1 in one output and Gi1/0/1 in
// another.
func (s *State) canonical(name func(string) string) {
	rename := func(ps []string) []string {
		for i, p := range ps {
			ps[i] = name(p)
		}
		return ps
	}
	for _, v := range s.VLANs {
		v.Tagged, v.Untagged = rename(v.Tagged), rename(v.Untagged)
	}
	if s.Modes != nil {
		m := make(map[string]string, len(s.Modes))
		for p, mode := range s.Modes {
			m[name(p)] = mode
		}
		s.Modes = m
	}
	if s.Allowed != nil {
		a := make(map[string]vlanRanges, len(s.Allowed))
		for p, r := range s.Allowed {
			a[name(p)] = r
		}
		s.Allowed = a
	}
}

func (s *State) vlan(id int) *switchdrv.VLAN {
	v := s.VLANs[id]
	if v == nil {
		v = &switchdrv.VLAN{ID: id}
		s.VLANs[id] = v
	}
	return v
}

// sorted returns the VLANs ordered by ID with sorted, duplicate-free port lists.
func (s *State) sorted() []switchdrv.VLAN {
	var out []switchdrv.VLAN
	for _, v := range s.VLANs {
		c := *v
		c.Tagged = sortPorts(c.Tagged)
		c.Untagged = sortPorts(c.Untagged)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b switchdrv.VLAN) int { return a.ID - b.ID })
	return out
}

func sortPorts(ps []string) []string {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, comparePorts)
	return slices.Compact(ps)
}

// comparePorts orders port names naturally: Gi1/0/2 before Gi1/0/10.
func comparePorts(a, b string) int {
	for a != "" && b != "" {
		na, ra := leadingNumber(a)
		nb, rb := leadingNumber(b)
		if na >= 0 && nb >= 0 {
			if na != nb {
				return na - nb
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func leadingNumber(s string) (int, string) {
	i := 0
	for i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return -1, s
	}
	n, _ := strconv.Atoi(s[:i])
	return n, s[i:]
}

// vlanRanges is a VLAN list such as "1,100,200-205".
type vlanRanges [][2]int

func parseVLANList(s string) (vlanRanges, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	if s == "all" {
		return vlanRanges{{1, 4094}}, nil
	}
	var out vlanRanges
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 1 || b < a || b > 4095 {
			return nil, fmt.Errorf("bad VLAN list %q", s)
		}
		out = append(out, [2]int{a, b})
	}
	return out, nil
}

func (r vlanRanges) has(vid int) bool {
	for _, x := range r {
		if vid >= x[0] && vid <= x[1] {
			return true
		}
	}
	return false
}

// lines splits output into lines without carriage returns.
func lines(s string) []string {
	return strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
}

// column returns the text of line from the column where header has title.
func column(line string, at int) string {
	if at < 0 || at >= len(line) {
		return ""
	}
	f := strings.Fields(line[at:])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// parseIOS reads `show interfaces status`, `show interfaces trunk` and
// `show vlan brief` (or EOS `show vlan`). Tagged members of a VLAN are the
// trunk ports whose allowed list includes it; untagged ones the access ports.
func parseIOS(out []string, name func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}, Modes: map[string]string{}}
	// Interface modes.
	vcol := -1
	for _, l := range lines(out[0]) {
		if strings.HasPrefix(l, "Port ") && strings.Contains(l, " Vlan ") {
			vcol = strings.Index(l, " Vlan ") + 1
			continue
		}
		f := strings.Fields(l)
		if vcol < 0 || len(f) == 0 || strings.HasPrefix(l, " ") || strings.HasPrefix(l, "-") {
			continue
		}
		mode := column(l, vcol)
		if _, err := strconv.Atoi(mode); err == nil {
			mode = "access"
		}
		if mode == "" {
			return nil, fmt.Errorf("interface status: no Vlan column in %q", l)
		}
		st.Modes[name(f[0])] = mode
	}
	if vcol < 0 {
		return nil, fmt.Errorf("interface status: no header line")
	}
	// Allowed VLANs per trunk port.
	allowed := map[string]string{}
	var order []string
	in, last := false, ""
	for _, l := range lines(out[1]) {
		switch {
		case strings.HasPrefix(l, "Port ") && strings.Contains(l, "Vlans allowed on trunk"):
			in = true
		case strings.TrimSpace(l) == "" || strings.HasPrefix(l, "Port "):
			in, last = false, ""
		case in && (l[0] == ' ' || l[0] == '\t') && last != "":
			allowed[last] += strings.TrimSpace(l)
		case in:
			f := strings.Fields(l)
			last = name(f[0])
			if len(f) > 1 {
				allowed[last] = strings.Join(f[1:], "")
			} else {
				allowed[last] = ""
			}
			order = append(order, last)
		}
	}
	trunks := map[string]vlanRanges{}
	st.Allowed = trunks
	for _, p := range order {
		r, err := parseVLANList(allowed[p])
		if err != nil {
			return nil, fmt.Errorf("interface trunk: port %s: %w", p, err)
		}
		trunks[p] = r
	}
	if err := parseVLANTable(out[2], st, name); err != nil {
		return nil, err
	}
	st.tagTrunks(order)
	return st, nil
}

// tagTrunks makes the trunks among ports tagged members of every VLAN
// their allowed list holds.
func (st *State) tagTrunks(ports []string) {
	for id, v := range st.VLANs {
		for _, p := range ports {
			if st.Modes[p] == "trunk" && st.Allowed[p].has(id) {
				v.Tagged = append(v.Tagged, p)
			}
		}
	}
}

// parseVLANTable reads IOS `show vlan brief` (EOS `show vlan`, NX-OS `show
// vlan brief`): the VLANs, their names, and the ports listed with them that
// are not trunks (trunks are listed by EOS and NX-OS, never by IOS).
func parseVLANTable(text string, st *State, name func(string) string) error {
	ncol, scol, pcol := -1, -1, -1
	var cur *switchdrv.VLAN
	for _, l := range lines(text) {
		if strings.HasPrefix(l, "VLAN") && strings.Contains(l, "Name") && strings.Contains(l, "Ports") {
			ncol, scol, pcol = strings.Index(l, "Name"), strings.Index(l, "Status"), strings.Index(l, "Ports")
			continue
		}
		if pcol < 0 || strings.TrimSpace(l) == "" || strings.HasPrefix(l, "-") {
			continue
		}
		portsText := ""
		if l[0] >= '0' && l[0] <= '9' {
			id, err := strconv.Atoi(strings.Fields(l)[0])
			if err != nil || id < 1 || id > 4094 {
				return fmt.Errorf("vlan table: bad VLAN line %q", l)
			}
			cur = st.vlan(id)
			if ncol < len(l) && scol > ncol {
				cur.Name = strings.TrimSpace(l[ncol:min(scol, len(l))])
			}
			if pcol < len(l) {
				portsText = l[pcol:]
			}
		} else if cur != nil && (l[0] == ' ' || l[0] == '\t') {
			portsText = l
		} else {
			continue
		}
		for _, p := range strings.FieldsFunc(portsText, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			if p = name(p); st.Modes[p] != "trunk" {
				cur.Untagged = append(cur.Untagged, p)
			}
		}
	}
	if pcol < 0 {
		return fmt.Errorf("vlan table: no header line")
	}
	return nil
}

// parseIOSConfig reads what every IOS-like switch answers: the interface
// sections of `show running-config` (mode and allowed VLANs of each port)
// and the VLAN table (`show vlan brief`): VLANs live in vlan.dat, not in
// the running configuration, unless VTP is transparent or off.
func parseIOSConfig(out []string, name func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}, Modes: map[string]string{}, Allowed: map[string]vlanRanges{}}
	var order []string
	port, sawEnd := "", false
	for _, l := range lines(out[0]) {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if l[0] != ' ' && l[0] != '\t' {
			port = ""
			switch {
			case f[0] == "interface" && len(f) >= 2:
				port = name(strings.Join(f[1:], ""))
				st.Modes[port] = "dynamic" // no switchport mode: DTP decides, never a trunk we rely on
				st.Allowed[port] = vlanRanges{{1, 4094}}
				order = append(order, port)
			case f[0] == "end" || strings.HasPrefix(l, "!Command: show running-config"):
				sawEnd = true // IOS ends with "end"; NX-OS prints no end, but a header
			}
			continue
		}
		if port == "" {
			continue
		}
		switch {
		case len(f) == 1 && f[0] == "shutdown":
		case len(f) == 2 && f[0] == "no" && f[1] == "switchport":
			st.Modes[port] = "routed"
		case len(f) == 3 && f[0] == "switchport" && f[1] == "mode":
			st.Modes[port] = f[2]
		case len(f) >= 5 && f[0] == "switchport" && f[1] == "trunk" && f[2] == "allowed" && f[3] == "vlan":
			list, add := strings.Join(f[4:], ""), false
			if f[4] == "add" {
				list, add = strings.Join(f[5:], ""), true
			}
			r, err := parseVLANList(list)
			if err != nil {
				return nil, fmt.Errorf("running-config: interface %s: %w", port, err)
			}
			if add {
				r = append(st.Allowed[port], r...)
			}
			st.Allowed[port] = r
		}
	}
	if !sawEnd {
		return nil, fmt.Errorf("running-config: neither a closing \"end\" line nor a \"!Command:\" header (cut short?)")
	}
	if err := parseVLANTable(out[1], st, name); err != nil {
		return nil, err
	}
	st.tagTrunks(order)
	return st, nil
}

// expandPorts expands a ProCurve port list such as "1-4,A1-A3,1/5".
func expandPorts(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			out = append(out, part)
			continue
		}
		pl, nl := splitNumber(lo)
		ph, nh := splitNumber(hi)
		if pl != ph || nl < 0 || nh < nl || nh-nl > 4096 {
			return nil, fmt.Errorf("bad port range %q", part)
		}
		for n := nl; n <= nh; n++ {
			out = append(out, pl+strconv.Itoa(n))
		}
	}
	return out, nil
}

// splitNumber splits "A12" into "A" and 12; -1 when there is no number.
func splitNumber(s string) (string, int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) || len(s)-i > 6 {
		return s, -1
	}
	n, _ := strconv.Atoi(s[i:])
	return s[:i], n
}

// parseProCurve reads the vlan blocks of `show running-config`.
func parseProCurve(out []string, _ func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}}
	var cur *switchdrv.VLAN
	for _, l := range lines(out[0]) {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if l[0] != ' ' {
			cur = nil
			if f[0] == "vlan" && len(f) == 2 {
				id, err := strconv.Atoi(f[1])
				if err != nil || id < 1 || id > 4094 {
					return nil, fmt.Errorf("running-config: bad vlan line %q", l)
				}
				cur = st.vlan(id)
			}
			continue
		}
		if cur == nil || len(f) < 2 {
			continue
		}
		switch f[0] {
		case "name":
			cur.Name = strings.Trim(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "name")), `"`)
		case "tagged", "untagged":
			ps, err := expandPorts(strings.Join(f[1:], ""))
			if err != nil {
				return nil, fmt.Errorf("running-config: vlan %d: %w", cur.ID, err)
			}
			if f[0] == "tagged" {
				cur.Tagged = append(cur.Tagged, ps...)
			} else {
				cur.Untagged = append(cur.Untagged, ps...)
			}
		}
	}
	return st, nil
}

// parseJunos reads `show configuration | display set` of an ELS switch.
func parseJunos(out []string, _ func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}, Modes: map[string]string{}}
	byName := map[string]int{}
	members := map[string][]string{}
	for _, l := range lines(out[0]) {
		f := strings.Fields(l)
		switch {
		case len(f) == 5 && f[0] == "set" && f[1] == "vlans" && f[3] == "vlan-id":
			id, err := strconv.Atoi(f[4])
			if err != nil || id < 1 || id > 4094 {
				return nil, fmt.Errorf("configuration: bad vlan-id in %q", l)
			}
			st.vlan(id).Name = f[2]
			byName[f[2]] = id
		case len(f) >= 7 && f[0] == "set" && f[1] == "interfaces" && f[3] == "unit" && f[5] == "family" && f[6] == "ethernet-switching":
			p := f[2]
			if _, ok := st.Modes[p]; !ok {
				st.Modes[p] = "access" // the ELS default
			}
			switch {
			case len(f) == 9 && f[7] == "interface-mode":
				st.Modes[p] = f[8]
			case len(f) == 10 && f[7] == "vlan" && f[8] == "members":
				members[p] = append(members[p], f[9])
			}
		}
	}
	for p, ms := range members {
		for _, m := range ms {
			id, ok := byName[m]
			if !ok {
				n, err := strconv.Atoi(m)
				if err != nil {
					continue // a member that names no VLAN does not commit; ignore it
				}
				id = n
			}
			v := st.VLANs[id]
			if v == nil {
				continue
			}
			if st.Modes[p] == "trunk" {
				v.Tagged = append(v.Tagged, p)
			} else {
				v.Untagged = append(v.Untagged, p)
			}
		}
	}
	return st, nil
}

// parseLinuxBridge reads `bridge -j vlan show`.
func parseLinuxBridge(out []string, _ func(string) string) (*State, error) {
	var ports []struct {
		IfName string `json:"ifname"`
		VLANs  []struct {
			VLAN    int      `json:"vlan"`
			VLANEnd int      `json:"vlanEnd"`
			Flags   []string `json:"flags"`
		} `json:"vlans"`
	}
	s := strings.TrimSpace(out[0])
	if i := strings.IndexByte(s, '['); i > 0 {
		s = s[i:]
	}
	if err := json.Unmarshal([]byte(s), &ports); err != nil {
		return nil, fmt.Errorf("bridge vlan show: %w", err)
	}
	st := &State{VLANs: map[int]*switchdrv.VLAN{}}
	for _, p := range ports {
		if p.IfName == "" || strings.ContainsAny(p.IfName, " \t\n\r") {
			return nil, fmt.Errorf("bridge vlan show: bad interface name %q", p.IfName)
		}
		for _, v := range p.VLANs {
			end := max(v.VLAN, v.VLANEnd)
			if v.VLAN < 1 || end > 4094 {
				return nil, fmt.Errorf("bridge vlan show: port %s: bad vlan %d-%d", p.IfName, v.VLAN, end)
			}
			for id := v.VLAN; id <= end; id++ {
				vl := st.vlan(id)
				if slices.Contains(v.Flags, "Egress Untagged") {
					vl.Untagged = append(vl.Untagged, p.IfName)
				} else {
					vl.Tagged = append(vl.Tagged, p.IfName)
				}
			}
		}
	}
	return st, nil
}

// parseSpacedList reads a VLAN list of the Huawei and H3C CLIs: "1 100 to
// 102 200", or "all".
func parseSpacedList(f []string) (vlanRanges, error) {
	var out vlanRanges
	for i := 0; i < len(f); i++ {
		if f[i] == "all" {
			out = append(out, [2]int{1, 4094})
			continue
		}
		a, err := strconv.Atoi(f[i])
		b := a
		if err == nil && i+2 < len(f) && f[i+1] == "to" {
			b, err = strconv.Atoi(f[i+2])
			i += 2
		}
		if err != nil || a < 1 || b < a || b > 4094 {
			return nil, fmt.Errorf("bad VLAN list %q", strings.Join(f, " "))
		}
		out = append(out, [2]int{a, b})
	}
	return out, nil
}

// minus removes the VLANs of r from l.
func (l vlanRanges) minus(r vlanRanges) vlanRanges {
	var out vlanRanges
	for _, x := range l {
		for id := x[0]; id <= x[1]; id++ {
			if !r.has(id) {
				out = append(out, [2]int{id, id})
			}
		}
	}
	return out
}

// parseVRPConfig reads `display current-configuration` of Huawei VRP and
// H3C/HPE Comware: `vlan N` (or VRP `vlan batch`) lines and sections with
// a name; interface sections with `port link-type` and the trunk's
// `port trunk allow-pass vlan` (VRP) or `port trunk permit vlan` (Comware)
// lists, which start from VLAN 1 and lose it on an `undo` line.
func parseVRPConfig(out []string, name func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}, Modes: map[string]string{}, Allowed: map[string]vlanRanges{}}
	st.vlan(1) // the default VLAN always exists; VRP lists it nowhere
	var order []string
	access := map[string]int{}
	port, vlan, sawReturn := "", (*switchdrv.VLAN)(nil), false
	for _, l := range lines(out[0]) {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if l[0] != ' ' {
			port, vlan = "", nil
			switch {
			case f[0] == "return":
				sawReturn = true
			case f[0] == "interface" && len(f) == 2:
				port = name(f[1])
				st.Modes[port] = "access" // no link-type line: an access port
				st.Allowed[port] = vlanRanges{{1, 1}}
				order = append(order, port)
			case f[0] == "vlan" && len(f) >= 2:
				list := f[1:]
				if f[1] == "batch" {
					list = f[2:]
				}
				r, err := parseSpacedList(list)
				if err != nil {
					return nil, fmt.Errorf("current-configuration: %q: %w", l, err)
				}
				for _, x := range r {
					for id := x[0]; id <= x[1]; id++ {
						vlan = st.vlan(id)
					}
				}
				if len(list) != 1 {
					vlan = nil // names belong to single-VLAN sections
				}
			}
			continue
		}
		switch {
		case vlan != nil && f[0] == "name" && len(f) >= 2:
			vlan.Name = strings.Join(f[1:], " ")
		case port == "":
		case len(f) == 3 && f[0] == "port" && f[1] == "link-type":
			st.Modes[port] = f[2]
		case len(f) == 4 && f[0] == "port" && (f[1] == "access" || f[1] == "default") && f[2] == "vlan":
			id, err := strconv.Atoi(f[3])
			if err != nil || id < 1 || id > 4094 {
				return nil, fmt.Errorf("current-configuration: interface %s: bad access VLAN %q", port, f[3])
			}
			access[port] = id
		case len(f) >= 5 && f[0] == "port" && f[1] == "trunk" && (f[2] == "allow-pass" || f[2] == "permit") && f[3] == "vlan":
			r, err := parseSpacedList(f[4:])
			if err != nil {
				return nil, fmt.Errorf("current-configuration: interface %s: %w", port, err)
			}
			st.Allowed[port] = append(st.Allowed[port], r...)
		case len(f) >= 6 && f[0] == "undo" && f[1] == "port" && f[2] == "trunk" && (f[3] == "allow-pass" || f[3] == "permit") && f[4] == "vlan":
			r, err := parseSpacedList(f[5:])
			if err != nil {
				return nil, fmt.Errorf("current-configuration: interface %s: %w", port, err)
			}
			st.Allowed[port] = st.Allowed[port].minus(r)
		}
	}
	if !sawReturn {
		return nil, fmt.Errorf("current-configuration: no closing \"return\" line (cut short?)")
	}
	for _, p := range order {
		if st.Modes[p] == "access" {
			delete(st.Allowed, p)
			if v := st.VLANs[max(access[p], 1)]; v != nil {
				v.Untagged = append(v.Untagged, p)
			}
		}
	}
	st.tagTrunks(order)
	return st, nil
}

// fastIronPorts expands a FastIron member list: "ethe 1/1/3 to 1/1/5 ethe
// 1/1/7" (the type word may be ethernet, ethe or e, or absent).
func fastIronPorts(f []string) ([]string, error) {
	var out []string
	for i := 0; i < len(f); i++ {
		w := strings.ToLower(f[i])
		if w == "ethe" || w == "ethernet" || w == "e" || w == "eth" {
			continue
		}
		if i+2 < len(f) && f[i+1] == "to" {
			pl, nl := splitNumber(f[i])
			ph, nh := splitNumber(f[i+2])
			if pl != ph || nl < 0 || nh < nl || nh-nl > 4096 {
				return nil, fmt.Errorf("bad port range %q", strings.Join(f[i:i+3], " "))
			}
			for n := nl; n <= nh; n++ {
				out = append(out, pl+strconv.Itoa(n))
			}
			i += 2
			continue
		}
		out = append(out, f[i])
	}
	return out, nil
}

// parseFastIron reads the vlan sections of FastIron's `show
// running-config`: "vlan 100 name vc-100 by port" and its "tagged" and
// "untagged" member lines. Ports have no mode: any port may be tagged.
func parseFastIron(out []string, name func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}}
	var cur *switchdrv.VLAN
	sawEnd := false
	for _, l := range lines(out[0]) {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if l[0] != ' ' {
			cur = nil
			switch {
			case f[0] == "end":
				sawEnd = true
			case f[0] == "vlan" && len(f) >= 2:
				id, err := strconv.Atoi(f[1])
				if err != nil || id < 1 || id > 4094 {
					return nil, fmt.Errorf("running-config: bad vlan line %q", l)
				}
				cur = st.vlan(id)
				if len(f) >= 4 && f[2] == "name" {
					cur.Name = f[3]
				}
			}
			continue
		}
		if cur == nil || len(f) < 2 || f[0] != "tagged" && f[0] != "untagged" {
			continue
		}
		ps, err := fastIronPorts(f[1:])
		if err != nil {
			return nil, fmt.Errorf("running-config: vlan %d: %w", cur.ID, err)
		}
		for _, p := range ps {
			if f[0] == "tagged" {
				cur.Tagged = append(cur.Tagged, name(p))
			} else {
				cur.Untagged = append(cur.Untagged, name(p))
			}
		}
	}
	if !sawEnd {
		return nil, fmt.Errorf("running-config: no closing \"end\" line (cut short?)")
	}
	return st, nil
}

// parseSONiC reads SONiC's `show vlan config`: a row per VLAN member (Name,
// VID, Member, Mode) and a row without member for an empty VLAN.
func parseSONiC(out []string, name func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}}
	header := false
	for _, l := range lines(out[0]) {
		f := strings.Fields(l)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "---"):
			continue
		case len(f) == 4 && f[0] == "Name" && f[1] == "VID":
			header = true
			continue
		case !header:
			continue
		case len(f) != 2 && len(f) != 4:
			return nil, fmt.Errorf("show vlan config: bad row %q", l)
		}
		id, err := strconv.Atoi(f[1])
		if err != nil || id < 1 || id > 4094 {
			return nil, fmt.Errorf("show vlan config: bad VID in %q", l)
		}
		v := st.vlan(id)
		v.Name = f[0]
		if len(f) == 4 {
			switch f[3] {
			case "tagged":
				v.Tagged = append(v.Tagged, name(f[2]))
			case "untagged":
				v.Untagged = append(v.Untagged, name(f[2]))
			default:
				return nil, fmt.Errorf("show vlan config: unknown mode in %q", l)
			}
		}
	}
	if !header {
		return nil, fmt.Errorf("show vlan config: no header line")
	}
	return st, nil
}

// parseOS10Config reads Dell OS10's `show running-configuration`: a VLAN is
// an `interface vlanN` section (its description the name); an ethernet
// section gives the port's mode, native VLAN and the trunk's allowed list,
// which is empty unless set.
func parseOS10Config(out []string, name func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}, Modes: map[string]string{}, Allowed: map[string]vlanRanges{}}
	var order []string
	access := map[string]int{}
	port, vlan, header := "", (*switchdrv.VLAN)(nil), false
	for _, l := range lines(out[0]) {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if strings.HasPrefix(l, "! Version ") {
			header = true
		}
		if l[0] != ' ' {
			port, vlan = "", nil
			if f[0] != "interface" || len(f) < 2 {
				continue
			}
			iface := strings.Join(f[1:], "")
			if n, ok := strings.CutPrefix(iface, "vlan"); ok {
				id, err := strconv.Atoi(n)
				if err != nil || id < 1 || id > 4094 {
					return nil, fmt.Errorf("running-configuration: bad VLAN interface %q", l)
				}
				vlan = st.vlan(id)
				continue
			}
			if !strings.HasPrefix(iface, "ethernet") && !strings.HasPrefix(iface, "port-channel") {
				continue // mgmt1/1/1, loopbacks: no switch ports
			}
			port = name(iface)
			st.Modes[port], access[port] = "access", 1
			order = append(order, port)
			continue
		}
		switch {
		case vlan != nil && f[0] == "description" && len(f) >= 2:
			vlan.Name = strings.Join(f[1:], " ")
		case port == "":
		case len(f) == 2 && f[0] == "no" && f[1] == "switchport":
			st.Modes[port] = "routed"
		case len(f) == 3 && f[0] == "switchport" && f[1] == "mode":
			st.Modes[port] = f[2]
		case len(f) == 4 && f[0] == "switchport" && f[1] == "access" && f[2] == "vlan":
			id, err := strconv.Atoi(f[3])
			if err != nil || id < 1 || id > 4094 {
				return nil, fmt.Errorf("running-configuration: interface %s: bad access VLAN %q", port, f[3])
			}
			access[port] = id
		case len(f) == 5 && f[0] == "switchport" && f[1] == "trunk" && f[2] == "allowed" && f[3] == "vlan":
			r, err := parseVLANList(f[4])
			if err != nil {
				return nil, fmt.Errorf("running-configuration: interface %s: %w", port, err)
			}
			st.Allowed[port] = append(st.Allowed[port], r...)
		}
	}
	if !header {
		return nil, fmt.Errorf("running-configuration: no \"! Version\" header (not OS10, or cut short?)")
	}
	for _, p := range order {
		if st.Modes[p] == "routed" {
			continue
		}
		if v := st.VLANs[access[p]]; v != nil {
			v.Untagged = append(v.Untagged, p)
		}
	}
	st.tagTrunks(order)
	return st, nil
}

// os9Ports expands an OS9 member list "0/1-3,5" of one interface type.
func os9Ports(typ, list string) ([]string, error) {
	var out []string
	slot := ""
	for _, item := range strings.Split(list, ",") {
		if strings.Contains(item, "/") {
			i := strings.LastIndex(item, "/")
			slot, item = item[:i+1], item[i+1:]
		}
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || slot == "" || b < a || b-a > 4096 {
			return nil, fmt.Errorf("bad port list %q", list)
		}
		for n := a; n <= b; n++ {
			out = append(out, typ+slot+strconv.Itoa(n))
		}
	}
	return out, nil
}

// parseOS9Config reads Dell OS9 (FTOS) `show running-config`: physical
// interface sections (Layer 2 with a " switchport" line: such a port can
// be tagged, and is a "trunk" here) and "interface Vlan N" sections with
// the VLAN's name and its " tagged"/" untagged" member lists.
func parseOS9Config(out []string, name func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}, Modes: map[string]string{}}
	port, vlan, sawEnd := "", (*switchdrv.VLAN)(nil), false
	for _, l := range lines(out[0]) {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if l[0] != ' ' {
			port, vlan = "", nil
			switch {
			case f[0] == "end":
				sawEnd = true
			case f[0] == "interface" && len(f) == 3 && strings.EqualFold(f[1], "Vlan"):
				id, err := strconv.Atoi(f[2])
				if err != nil || id < 1 || id > 4094 {
					return nil, fmt.Errorf("running-config: bad VLAN interface %q", l)
				}
				vlan = st.vlan(id)
			case f[0] == "interface" && len(f) == 3 && f[1] != "ManagementEthernet" && f[1] != "Loopback":
				port = name(f[1] + f[2])
				st.Modes[port] = "routed"
			}
			continue
		}
		switch {
		case port != "" && len(f) == 1 && f[0] == "switchport":
			st.Modes[port] = "trunk"
		case vlan != nil && f[0] == "name" && len(f) >= 2:
			vlan.Name = f[1]
		case vlan != nil && (f[0] == "tagged" || f[0] == "untagged") && len(f) == 3:
			ps, err := os9Ports(f[1], f[2])
			if err != nil {
				return nil, fmt.Errorf("running-config: vlan %d: %w", vlan.ID, err)
			}
			for _, p := range ps {
				if f[0] == "tagged" {
					vlan.Tagged = append(vlan.Tagged, name(p))
				} else {
					vlan.Untagged = append(vlan.Untagged, name(p))
				}
			}
		}
	}
	if !sawEnd {
		return nil, fmt.Errorf("running-config: no closing \"end\" line (cut short?)")
	}
	return st, nil
}

// parseOnyxConfig reads Onyx's `show running-config`: one-line commands
// "interface ethernet 1/1-1/4 switchport mode trunk", "... switchport trunk
// allowed-vlan none|all|add N|remove N" (a trunk allows every VLAN until
// told otherwise) and "vlan N", "vlan N name \"X\"".
func parseOnyxConfig(out []string, name func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}, Modes: map[string]string{}, Allowed: map[string]vlanRanges{}}
	st.vlan(1)
	var order []string
	header := false
	for _, l := range lines(out[0]) {
		f := strings.Fields(l)
		switch {
		case len(f) == 0:
		case strings.HasPrefix(l, "## Running database"):
			header = true
		case f[0] == "vlan" && len(f) >= 2:
			id, err := strconv.Atoi(f[1])
			if err != nil || id < 1 || id > 4094 {
				return nil, fmt.Errorf("running-config: bad vlan line %q", l)
			}
			v := st.vlan(id)
			if len(f) >= 4 && f[2] == "name" {
				v.Name = strings.Trim(strings.Join(f[3:], " "), `"`)
			}
		case f[0] == "interface" && len(f) >= 5 && f[1] == "ethernet" && f[3] == "switchport":
			ps, err := onyxPorts(f[2])
			if err != nil {
				return nil, fmt.Errorf("running-config: %q: %w", l, err)
			}
			for _, p := range ps {
				p = name(p)
				if _, ok := st.Modes[p]; !ok {
					st.Modes[p] = "access"
					st.Allowed[p] = vlanRanges{{1, 4094}}
					order = append(order, p)
				}
				switch {
				case len(f) == 6 && f[4] == "mode":
					st.Modes[p] = f[5]
				case len(f) == 7 && f[4] == "trunk" && f[5] == "allowed-vlan" && (f[6] == "none" || f[6] == "all"):
					st.Allowed[p], _ = parseVLANList(f[6])
				case len(f) == 8 && f[4] == "trunk" && f[5] == "allowed-vlan" && (f[6] == "add" || f[6] == "remove"):
					r, err := parseVLANList(f[7])
					if err != nil {
						return nil, fmt.Errorf("running-config: %q: %w", l, err)
					}
					if f[6] == "add" {
						st.Allowed[p] = append(st.Allowed[p], r...)
					} else {
						st.Allowed[p] = st.Allowed[p].minus(r)
					}
				}
			}
		}
	}
	if !header {
		return nil, fmt.Errorf("running-config: no \"## Running database\" header (cut short?)")
	}
	st.tagTrunks(order)
	return st, nil
}

// onyxPorts expands "1/1" or "1/1-1/4" into Eth names.
func onyxPorts(spec string) ([]string, error) {
	lo, hi, isRange := strings.Cut(spec, "-")
	if !isRange {
		return []string{"Eth" + lo}, nil
	}
	pl, a := splitNumber(lo)
	ph, b := splitNumber(hi)
	if pl != ph || a < 0 || b < a || b-a > 4096 {
		return nil, fmt.Errorf("bad port range %q", spec)
	}
	var out []string
	for n := a; n <= b; n++ {
		out = append(out, "Eth"+pl+strconv.Itoa(n))
	}
	return out, nil
}

// parseDNOS6Config reads `show running-config` of Dell PowerConnect and
// N-series (DNOS 6): unindented sections ended by "exit"; "vlan 10,20"
// lists and named "vlan N" sections; interface sections with the mode, a
// trunk's allowed list (all VLANs when absent) and a general port's tagged
// VLANs ("switchport general allowed vlan add 100 tagged").
func parseDNOS6Config(out []string, name func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}, Modes: map[string]string{}, Allowed: map[string]vlanRanges{}}
	st.vlan(1).Name = "default" // never printed
	var order []string
	port, vlan, header := "", (*switchdrv.VLAN)(nil), false
	for _, l := range lines(out[0]) {
		f := strings.Fields(l)
		switch {
		case len(f) == 0:
		case strings.HasPrefix(l, "!Current Configuration"):
			header = true
		case f[0] == "exit":
			port, vlan = "", nil
		case f[0] == "vlan" && len(f) == 2:
			r, err := parseVLANList(f[1])
			if err != nil {
				return nil, fmt.Errorf("running-config: %q: %w", l, err)
			}
			for _, x := range r {
				for id := x[0]; id <= x[1]; id++ {
					vlan = st.vlan(id)
				}
			}
			if strings.ContainsAny(f[1], ",-") {
				vlan = nil
			}
		case vlan != nil && f[0] == "name" && len(f) >= 2:
			vlan.Name = strings.Trim(strings.Join(f[1:], " "), `"`)
		case f[0] == "interface" && len(f) >= 2:
			port = name(strings.Join(f[1:], ""))
			st.Modes[port] = "access"
			st.Allowed[port] = vlanRanges{{1, 4093}}
			order = append(order, port)
		case port == "":
		case len(f) == 3 && f[0] == "switchport" && f[1] == "mode":
			st.Modes[port] = f[2]
			if f[2] == "general" {
				st.Allowed[port] = nil
			}
		case len(f) >= 5 && f[0] == "switchport" && f[1] == "trunk" && f[2] == "allowed" && f[3] == "vlan":
			list, add := f[4], false
			if f[4] == "add" && len(f) == 6 {
				list, add = f[5], true
			}
			r, err := parseVLANList(list)
			if err != nil {
				return nil, fmt.Errorf("running-config: interface %s: %w", port, err)
			}
			if add {
				r = append(st.Allowed[port], r...)
			}
			st.Allowed[port] = r
		case len(f) == 7 && f[0] == "switchport" && f[1] == "general" && f[2] == "allowed" && f[3] == "vlan" && f[4] == "add" && f[6] == "tagged":
			r, err := parseVLANList(f[5])
			if err != nil {
				return nil, fmt.Errorf("running-config: interface %s: %w", port, err)
			}
			st.Allowed[port] = append(st.Allowed[port], r...)
		}
	}
	if !header {
		return nil, fmt.Errorf("running-config: no \"!Current Configuration\" header (cut short?)")
	}
	for _, p := range order {
		switch st.Modes[p] {
		case "trunk", "general":
			for id, v := range st.VLANs {
				if st.Allowed[p].has(id) {
					v.Tagged = append(v.Tagged, p)
				}
			}
			if st.Modes[p] == "general" {
				st.VLANs[1].Untagged = append(st.VLANs[1].Untagged, p)
			}
		default:
			st.VLANs[1].Untagged = append(st.VLANs[1].Untagged, p)
		}
	}
	return st, nil
}

// nvueIfaces expands an NVUE interface list "swp1-4,swp7".
func nvueIfaces(s string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		if lo == "" {
			return nil, fmt.Errorf("empty interface in %q", s)
		}
		if !isRange {
			out = append(out, lo)
			continue
		}
		prefix, a := splitNumber(lo)
		b, err := strconv.Atoi(hi)
		if a < 0 || err != nil || b < a || b-a > 4096 {
			return nil, fmt.Errorf("bad interface range %q", item)
		}
		for n := a; n <= b; n++ {
			out = append(out, prefix+strconv.Itoa(n))
		}
	}
	return out, nil
}

// parseNVUE reads `nv config show -o commands` of Cumulus Linux 5: the
// bridge domain's VLANs ("nv set bridge domain br_default vlan 1,100") and
// its member ports, with a VLAN list ("trunk" here) or without one, when
// they carry every VLAN of the domain ("all-vlans": not ports the driver
// can tag one VLAN on).
func parseNVUE(out []string, name func(string) string) (*State, error) {
	st := &State{VLANs: map[int]*switchdrv.VLAN{}, Modes: map[string]string{}, Allowed: map[string]vlanRanges{}}
	var order []string
	sawBridge := false
	for _, l := range lines(out[0]) {
		f := strings.Fields(l)
		switch {
		case len(f) == 7 && f[0] == "nv" && f[1] == "set" && f[2] == "bridge" && f[3] == "domain" && f[4] == "br_default" && f[5] == "vlan":
			r, err := parseVLANList(f[6])
			if err != nil {
				return nil, fmt.Errorf("nv config: %q: %w", l, err)
			}
			for _, x := range r {
				for id := x[0]; id <= x[1]; id++ {
					st.vlan(id)
				}
			}
			sawBridge = true
		case (len(f) == 7 || len(f) == 9) && f[0] == "nv" && f[1] == "set" && f[2] == "interface" && f[4] == "bridge" && f[5] == "domain" && f[6] == "br_default":
			ps, err := nvueIfaces(f[3])
			if err != nil {
				return nil, fmt.Errorf("nv config: %q: %w", l, err)
			}
			r := vlanRanges{{1, 4094}}
			mode := "all-vlans"
			if len(f) == 9 && f[7] == "vlan" {
				if r, err = parseVLANList(f[8]); err != nil {
					return nil, fmt.Errorf("nv config: %q: %w", l, err)
				}
				mode = "trunk"
			}
			for _, p := range ps {
				p = name(p)
				if _, seen := st.Modes[p]; !seen {
					order = append(order, p)
				}
				st.Modes[p] = mode
				st.Allowed[p] = append(st.Allowed[p], r...)
			}
		}
	}
	if !sawBridge {
		return nil, fmt.Errorf("nv config: no VLANs of bridge domain br_default (not NVUE, or no bridge?)")
	}
	for id, v := range st.VLANs {
		for _, p := range order {
			if st.Allowed[p].has(id) {
				v.Tagged = append(v.Tagged, p)
			}
		}
	}
	for p, m := range st.Modes {
		if m == "all-vlans" {
			delete(st.Allowed, p)
		}
	}
	return st, nil
}
