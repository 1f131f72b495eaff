package snmp

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

const (
	oidBasePortIfIndex = ".1.3.6.1.2.1.17.1.4.1.2"   // dot1dBasePortIfIndex.<baseport>
	oidIfName          = ".1.3.6.1.2.1.31.1.1.1.1"   // ifName.<ifIndex>
	oidIfDescr         = ".1.3.6.1.2.1.2.2.1.2"      // ifDescr.<ifIndex>
	oidStaticTable     = ".1.3.6.1.2.1.17.7.1.4.3.1" // dot1qVlanStaticEntry
	oidStaticName      = oidStaticTable + ".1"       // .<vid>
	oidStaticEgress    = oidStaticTable + ".2"       // .<vid>
	oidStaticUntagged  = oidStaticTable + ".4"       // .<vid>
	oidStaticRowStatus = oidStaticTable + ".5"       // .<vid>
)

// portMap maps the operator's port names to bridge port numbers, the
// indexes of PortList bits. It is read once per driver (and again when a
// change names a port it does not know).
type portMap struct {
	byName map[string]int // ifName, ifDescr or the bridge port number -> bridge port
	names  map[int]string // bridge port -> the name reported back
	max    int            // highest bridge port
	// notBitmap, when set, says why this agent's PortLists cannot be trusted.
	notBitmap string
}

func (m *portMap) known(port int) bool { _, ok := m.names[port]; return ok }

// name is how a bridge port is reported: its ifName, else ifDescr, else
// its number (also for bits of ports the agent does not list).
func (m *portMap) name(port int) string {
	if n, ok := m.names[port]; ok {
		return n
	}
	return strconv.Itoa(port)
}

func (m *portMap) nameAll(l PortList) []string {
	var out []string
	for _, p := range l.Ports() {
		out = append(out, m.name(p))
	}
	return out
}

// octets is the PortList length that holds every bridge port.
func (m *portMap) octets() int { return octets(m.max) }

// loadPorts walks dot1dBasePortIfIndex, ifName and ifDescr, then checks
// every static VLAN's PortLists: an agent whose lists read as port numbers
// rather than bitmaps is marked and refused from then on.
func (d *Driver) loadPorts() (*portMap, error) {
	bases, err := d.walk(oidBasePortIfIndex)
	if err != nil {
		return nil, err
	}
	ifNames, err := d.walkStrings(oidIfName)
	if err != nil {
		return nil, err
	}
	ifDescrs, err := d.walkStrings(oidIfDescr)
	if err != nil {
		return nil, err
	}
	m := &portMap{byName: map[string]int{}, names: map[int]string{}}
	ifIndex := map[int]int{}
	var ports []int
	for _, v := range bases {
		bp, ok := index(v.Name, oidBasePortIfIndex)
		if !ok || v.Type != gosnmp.Integer {
			return nil, badAnswer("dot1dBasePortIfIndex: unexpected %s %s", v.Name, v.Type)
		}
		ifIndex[bp] = v.Value.(int)
		ports = append(ports, bp)
		m.max = max(m.max, bp)
	}
	if len(ports) == 0 {
		return nil, badAnswer("the agent lists no bridge ports (dot1dBasePortIfIndex is empty)")
	}
	sort.Ints(ports)
	// Fill names by preference, so an ifName always wins over another
	// port's ifDescr or number.
	for _, names := range []map[int]string{ifNames, ifDescrs} {
		for _, bp := range ports {
			if n := names[ifIndex[bp]]; n != "" {
				if _, taken := m.byName[n]; !taken {
					m.byName[n] = bp
				}
				if _, named := m.names[bp]; !named {
					m.names[bp] = n
				}
			}
		}
	}
	for _, bp := range ports {
		n := strconv.Itoa(bp)
		if _, taken := m.byName[n]; !taken {
			m.byName[n] = bp
		}
		if _, named := m.names[bp]; !named {
			m.names[bp] = n
		}
	}

	for _, col := range []string{oidStaticEgress, oidStaticUntagged} {
		lists, err := d.walk(col)
		if err != nil {
			return nil, err
		}
		for _, v := range lists {
			l, ok := v.Value.([]byte)
			if v.Type != gosnmp.OctetString || !ok {
				return nil, badAnswer("%s is %s, not a PortList", v.Name, v.Type)
			}
			if why := m.check(v.Name, l); why != "" {
				m.notBitmap = why
				return m, nil
			}
		}
	}
	return m, nil
}

// check returns why a PortList cannot be decoded, or "".
func (m *portMap) check(oid string, l PortList) string {
	if l.numberList(m.known) {
		return fmt.Sprintf("%s = % x reads as a list of 16-bit port numbers, not a Q-BRIDGE bitmap; refusing to write to this agent", oid, []byte(l))
	}
	return ""
}

// portMap returns the port map, loading it on first use (or again when
// reload is set), and refuses agents whose PortLists are not bitmaps.
func (d *Driver) portMap(reload bool) (*portMap, error) {
	if d.ports == nil || reload {
		m, err := d.loadPorts()
		if err != nil {
			return nil, err
		}
		d.ports = m
	}
	if d.ports.notBitmap != "" {
		return nil, badAnswer("%s", d.ports.notBitmap)
	}
	return d.ports, nil
}

// resolve maps port names to bridge ports, reloading the map once if a
// name is unknown (a stack member may have joined).
func (d *Driver) resolve(names []string) ([]int, error) {
	m, err := d.portMap(false)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(names))
	for reloaded := false; ; reloaded = true {
		missing := ""
		for i, n := range names {
			bp, ok := m.byName[n]
			if !ok {
				missing = n
				break
			}
			out[i] = bp
		}
		if missing == "" {
			return out, nil
		}
		if reloaded {
			return nil, &portError{missing}
		}
		if m, err = d.portMap(true); err != nil {
			return nil, err
		}
	}
}

// portError names a port the switch does not have.
type portError struct{ port string }

func (e *portError) Error() string {
	return "no such port on the switch (names are ifName, ifDescr or the bridge port number)"
}

// walkStrings walks a column of OCTET STRINGs indexed by one number.
func (d *Driver) walkStrings(root string) (map[int]string, error) {
	vs, err := d.walk(root)
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	for _, v := range vs {
		i, ok := index(v.Name, root)
		b, isBytes := v.Value.([]byte)
		if !ok || v.Type != gosnmp.OctetString || !isBytes {
			return nil, badAnswer("%s: unexpected %s", v.Name, v.Type)
		}
		out[i] = strings.TrimSpace(string(b))
	}
	return out, nil
}

// index returns the single sub-identifier after root in oid.
func index(oid, root string) (int, bool) {
	rest, ok := strings.CutPrefix(oid, root+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}
