package snmp

import (
	"bytes"
	"slices"
	"testing"
)

func TestPortList(t *testing.T) {
	l := PortList{0xc0, 0x00}
	if !slices.Equal(l.Ports(), []int{1, 2}) {
		t.Fatalf("C0 00 = %v, want ports 1 2", l.Ports())
	}
	if !slices.Equal(PortList{0x00, 0x08}.Ports(), []int{13}) {
		t.Fatal("00 08 is port 13")
	}
	p := l.Padded(4)
	p.Set(32, true)
	p.Set(1, false)
	if !bytes.Equal(p, []byte{0x40, 0, 0, 0x01}) || !bytes.Equal(l, []byte{0xc0, 0}) {
		t.Fatalf("padded and set: % x (original % x)", []byte(p), []byte(l))
	}
	if l.Has(33) || l.Has(0) || !l.Has(2) {
		t.Fatal("Has outside the list")
	}
	if !(PortList{0x80}).Equal(PortList{0x80, 0, 0}) || (PortList{0x80}).Equal(PortList{0x80, 1}) {
		t.Fatal("Equal ignores only zero padding")
	}
}

// The detector's rule on the recordings' lists.
func TestNumberList(t *testing.T) {
	brocade := func(p int) bool { return p >= 1 && p <= 24 || p >= 65 && p <= 68 }
	upTo := func(n int) func(int) bool { return func(p int) bool { return p >= 1 && p <= n } }
	for _, tc := range []struct {
		name  string
		list  PortList
		known func(int) bool
		want  bool
	}{
		{"brocade vlan 1", PortList{0, 0, 0, 1, 0, 0x18, 0, 0x42, 0, 0x43, 0, 0x44}, brocade, true},
		{"brocade bitmap", PortList{0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0xf0}, brocade, false},
		{"procurve stray high bits", PortList{0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x1f}, upTo(24), false},
		{"dlink", PortList{0x7c, 0x7b, 0xc0, 0, 0, 0, 0, 0}, upTo(18), false},
		{"one word", PortList{0, 0x05}, upTo(4), false},          // bitmap port 16 unknown, but word 5 unknown too
		{"one port as number", PortList{0, 0x05}, upTo(8), true}, // bitmap port 14 unknown, word 5 known
		{"odd length", PortList{0, 0x01, 0x00}, upTo(8), false},
		{"empty", PortList{}, upTo(8), false},
	} {
		if got := tc.list.numberList(tc.known); got != tc.want {
			t.Errorf("%s: numberList(% x) = %v, want %v", tc.name, []byte(tc.list), got, tc.want)
		}
	}
}

// FuzzPortList checks the codec's laws: setting a bit changes that bit
// only, padding changes no port, Ports lists exactly the set bits, and the
// detector never panics.
func FuzzPortList(f *testing.F) {
	f.Add([]byte{0x00, 0x00, 0x00, 0x01, 0x00, 0x18, 0x00, 0x42, 0x00, 0x43, 0x00, 0x44}, uint16(66), true)
	f.Add([]byte{0x0f, 0xff, 0xbf, 0x6d, 0x84, 0x03, 0x20, 0, 0, 0, 0, 0, 0x10}, uint16(100), false)
	f.Add([]byte{0x30, 0x00, 0x40}, uint16(97), true)
	f.Add([]byte{}, uint16(1), true)
	f.Fuzz(func(t *testing.T, b []byte, port16 uint16, on bool) {
		port := int(port16%4096) + 1
		l := PortList(b)
		p := l.Padded(octets(port))
		if !p.Equal(l) || len(p) < len(l) {
			t.Fatalf("padding % x to %d changed it", b, octets(port))
		}
		before := slices.Clone(p)
		p.Set(port, on)
		if p.Has(port) != on {
			t.Fatalf("set port %d %v in % x: Has says %v", port, on, b, p.Has(port))
		}
		for q := 1; q <= 8*len(p); q++ {
			if q != port && p.Has(q) != PortList(before).Has(q) {
				t.Fatalf("set port %d changed port %d", port, q)
			}
		}
		rebuilt := make(PortList, len(p))
		for _, q := range p.Ports() {
			if !p.Has(q) {
				t.Fatalf("Ports lists %d which is not set", q)
			}
			rebuilt.Set(q, true)
		}
		if !bytes.Equal(rebuilt, p) {
			t.Fatalf("Ports of % x rebuild as % x", []byte(p), []byte(rebuilt))
		}
		l.numberList(func(q int) bool { return q <= port })
	})
}
