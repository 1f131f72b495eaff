package snmp

import "fmt"

// PortList is a Q-BRIDGE-MIB PortList: octet i holds bridge ports 8i+1 to
// 8i+8, the most significant bit first, so C0 00 is ports 1 and 2. Agents
// trim or pad lists as they like and may set bits above their real ports,
// so lists are padded before comparing and only the bits a change owns are
// ever touched.
type PortList []byte

// octets is the length a list needs to hold the given bridge port.
func octets(port int) int { return (port + 7) / 8 }

// Has reports whether the port's bit is set; ports past the end are not.
func (l PortList) Has(port int) bool {
	if port < 1 || octets(port) > len(l) {
		return false
	}
	return l[(port-1)/8]&(0x80>>((port-1)%8)) != 0
}

// Padded returns a copy at least n octets long, the tail filled with zeros.
func (l PortList) Padded(n int) PortList {
	c := make(PortList, max(n, len(l)))
	copy(c, l)
	return c
}

// Set turns the port's bit on or off. The list must already hold the port.
func (l PortList) Set(port int, on bool) {
	if port < 1 || octets(port) > len(l) {
		panic(fmt.Sprintf("portlist: port %d outside a %d-octet list", port, len(l)))
	}
	bit := byte(0x80 >> ((port - 1) % 8))
	if on {
		l[(port-1)/8] |= bit
	} else {
		l[(port-1)/8] &^= bit
	}
}

// Ports lists the bridge ports whose bits are set, in ascending order.
func (l PortList) Ports() []int {
	var ps []int
	for i, b := range l {
		for j := range 8 {
			if b&(0x80>>j) != 0 {
				ps = append(ps, 8*i+j+1)
			}
		}
	}
	return ps
}

// Equal compares two lists as sets of ports, whatever their lengths.
func (l PortList) Equal(m PortList) bool {
	n := max(len(l), len(m))
	a, b := l.Padded(n), m.Padded(n)
	return string(a) == string(b)
}

// numberList reports whether a list the agent calls a PortList is really a
// list of 16-bit port numbers (what the Brocade ICX6430 answers: 00 00 00 01
// 00 18 00 42 00 43 00 44 for ports 1, 24, 66, 67, 68). The rule, all of:
//
//   - read as a bitmap, it names at least one port the agent does not have
//     (a bitmap of real ports is never suspect);
//   - its length is even and, read as big-endian 16-bit words, every word is
//     0 or a bridge port the agent has, and the non-zero words rise strictly
//     and there is at least one.
//
// Stray high bits in a real bitmap (an HP ProCurve sets bits up to port 75
// with 24 ports) fail the second test, since their words are not port
// numbers. A false positive only makes the driver refuse the switch.
func (l PortList) numberList(known func(port int) bool) bool {
	strange := false
	for _, p := range l.Ports() {
		if !known(p) {
			strange = true
			break
		}
	}
	if !strange || len(l)%2 != 0 {
		return false
	}
	last := 0
	for i := 0; i < len(l); i += 2 {
		w := int(l[i])<<8 | int(l[i+1])
		if w == 0 {
			continue
		}
		if !known(w) || w <= last {
			return false
		}
		last = w
	}
	return last > 0
}
