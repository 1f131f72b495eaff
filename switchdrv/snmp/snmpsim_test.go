package snmp_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/snmpsim"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/snmp"
)

// Users of the v3 agent: one per protocol pair, with the driver's name for
// the same privacy protocol (snmpsim's AES256 is the Reeder form).
var v3Users = []struct {
	sim             snmpsim.V3User
	authProto, priv string
}{
	{snmpsim.V3User{Name: "sha-aes", AuthProto: "SHA", AuthKey: "auth-key-1", PrivProto: "AES", PrivKey: "priv-key-1"}, "SHA", "AES"},
	{snmpsim.V3User{Name: "md5-des", AuthProto: "MD5", AuthKey: "auth-key-2", PrivProto: "DES", PrivKey: "priv-key-2"}, "md5", "des"},
	{snmpsim.V3User{Name: "sha256-aes256c", AuthProto: "SHA256", AuthKey: "auth-key-3", PrivProto: "AES256", PrivKey: "priv-key-3"}, "sha256", "aes256c"},
	{snmpsim.V3User{Name: "sha512-aes256", AuthProto: "SHA512", AuthKey: "auth-key-4", PrivProto: "AES256BLMT", PrivKey: "priv-key-4"}, "sha512", "aes256"},
	{snmpsim.V3User{Name: "sha224-aes192c", AuthProto: "SHA224", AuthKey: "auth-key-5", PrivProto: "AES192", PrivKey: "priv-key-5"}, "sha224", "aes192c"},
	{snmpsim.V3User{Name: "sha384-aes192", AuthProto: "SHA384", AuthKey: "auth-key-6", PrivProto: "AES192BLMT", PrivKey: "priv-key-6"}, "sha384", "aes192"},
}

func startAgent(t *testing.T, recording string) *snmpsim.Agent {
	var users []snmpsim.V3User
	for _, u := range v3Users {
		users = append(users, u.sim)
	}
	return snmpsim.Start(t, snmpsim.Options{Recording: recording, Community: "private", V3: users})
}

// v2c is a switch table reaching the agent with its community.
func v2c(ag *snmpsim.Agent) *config.Switch {
	return &config.Switch{Driver: "snmp", Address: ag.Addr, VLANName: "vc-{vid}",
		Settings: &snmp.Config{Version: "2c", Community: config.NewSecret(ag.Community)}}
}

// v3 is a switch table reaching the agent as user i, the protocols named
// as the table above names them (in either case).
func v3(t *testing.T, ag *snmpsim.Agent, i int, context string) *config.Switch {
	u := v3Users[i]
	c := v2c(ag)
	c.Settings = &snmp.Config{Version: "3", User: u.sim.Name, Context: context,
		AuthProtocol: u.authProto, AuthKey: config.NewSecret(u.sim.AuthKey),
		PrivProtocol: u.priv, PrivKey: config.NewSecret(u.sim.PrivKey)}
	return c
}

// managed is the VLAN range the tests own, plus the recorded VLANs a test
// lists explicitly.
func open(t *testing.T, cfg *config.Switch, extra ...int) switchdrv.Driver {
	t.Helper()
	d, err := switchdrv.Open(cfg, switchdrv.Options{Name: "sw1", Managed: func(vid int) bool {
		return vid >= 3000 && vid < 3100 || slices.Contains(extra, vid)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func mustApply(t *testing.T, d switchdrv.Driver, c switchdrv.Change) {
	t.Helper()
	if err := d.Apply(ctx(t), c); err != nil {
		t.Fatalf("apply %+v: %v", c, err)
	}
}

func wantVLAN(t *testing.T, d switchdrv.Driver, vid int, name string, tagged, untagged []string) {
	t.Helper()
	v, found, err := d.VLAN(ctx(t), vid)
	if err != nil {
		t.Fatalf("vlan %d: %v", vid, err)
	}
	if !found {
		t.Fatalf("vlan %d not found", vid)
	}
	if v.Name != name || !slices.Equal(v.Tagged, tagged) || !slices.Equal(v.Untagged, untagged) {
		t.Fatalf("vlan %d = %+v, want name %q tagged %q untagged %q", vid, v, name, tagged, untagged)
	}
}

func wantGone(t *testing.T, d switchdrv.Driver, vid int) {
	t.Helper()
	if v, found, err := d.VLAN(ctx(t), vid); err != nil || found {
		t.Fatalf("vlan %d: found=%v %+v err=%v, want gone", vid, found, v, err)
	}
}

// lifecycle runs every driver operation against the agent and reads each
// result back: create, add, idempotent repeat, remove, delete, delete again.
func lifecycle(t *testing.T, d switchdrv.Driver, vid int, p []string) {
	wantGone(t, d, vid)
	name := "vc-" + strconv.Itoa(vid)
	mustApply(t, d, switchdrv.Change{VLAN: vid, Name: name, Add: p[:2]})
	wantVLAN(t, d, vid, name, p[:2], nil)
	mustApply(t, d, switchdrv.Change{VLAN: vid, Name: name, Add: p[1:4]})
	mustApply(t, d, switchdrv.Change{VLAN: vid, Name: name, Add: p[1:4]})
	wantVLAN(t, d, vid, name, p[:4], nil)
	mustApply(t, d, switchdrv.Change{VLAN: vid, Name: name, Remove: []string{p[0], p[2]}})
	mustApply(t, d, switchdrv.Change{VLAN: vid, Name: name, Remove: []string{p[0], p[2]}})
	wantVLAN(t, d, vid, name, []string{p[1], p[3]}, nil)
	vs, err := d.VLANs(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(vs, func(v switchdrv.VLAN) bool { return v.ID == vid }); i < 0 || !slices.Equal(vs[i].Tagged, []string{p[1], p[3]}) {
		t.Fatalf("VLANs() = %+v, want vlan %d with %s %s", vs, vid, p[1], p[3])
	}
	mustApply(t, d, switchdrv.Change{VLAN: vid, Remove: []string{p[1], p[3]}, Delete: true})
	wantGone(t, d, vid)
	mustApply(t, d, switchdrv.Change{VLAN: vid, Remove: []string{p[1], p[3]}, Delete: true})
	// A deleted VLAN can be made again, without the old members.
	mustApply(t, d, switchdrv.Change{VLAN: vid, Name: name, Add: p[4:5]})
	wantVLAN(t, d, vid, name, p[4:5], nil)
}

func TestLifecycle(t *testing.T) {
	for _, tc := range []struct {
		recording string
		ports     []string
		vlans     []int
	}{
		// Management1 is bridge port 97, ifIndex 999001; Port-Channel1 port 100.
		{snmpsim.Arista, []string{"Ethernet1", "Ethernet7", "Management1", "Port-Channel1", "Ethernet52"}, []int{1, 40, 41, 80, 90}},
		// D-Link ifNames are the port numbers.
		{snmpsim.DLink, []string{"1", "2", "9", "18", "17"}, []int{1, 40, 41, 1113}},
	} {
		t.Run(tc.recording, func(t *testing.T) {
			ag := startAgent(t, tc.recording)
			t.Run("v2c", func(t *testing.T) {
				d := open(t, v2c(ag))
				vs, err := d.VLANs(ctx(t))
				if err != nil {
					t.Fatal(err)
				}
				var ids []int
				for _, v := range vs {
					ids = append(ids, v.ID)
				}
				if !slices.Equal(ids, tc.vlans) {
					t.Fatalf("recorded VLANs = %v, want %v", ids, tc.vlans)
				}
				lifecycle(t, d, 3001, tc.ports)
			})
			t.Run("v3-context", func(t *testing.T) {
				lifecycle(t, open(t, v3(t, ag, 0, "private")), 3002, tc.ports)
			})
			t.Run("v3-empty-context", func(t *testing.T) {
				lifecycle(t, open(t, v3(t, ag, 0, "")), 3003, tc.ports)
			})
		})
	}
}

// Every SNMPv3 protocol pair reaches the agent: read a recorded VLAN, make one.
func TestV3Protocols(t *testing.T) {
	ag := startAgent(t, snmpsim.Arista)
	for i, u := range v3Users {
		t.Run(u.sim.Name, func(t *testing.T) {
			d := open(t, v3(t, ag, i, "private"))
			wantVLAN(t, d, 80, "VLAN0080", []string{"Ethernet47", "Ethernet48", "Port-Channel1"}, []string{"Ethernet39", "Ethernet40", "Ethernet43", "Ethernet44"})
			mustApply(t, d, switchdrv.Change{VLAN: 3010 + i, Name: "vc", Add: []string{"Ethernet3"}})
			wantVLAN(t, d, 3010+i, "vc", []string{"Ethernet3"}, nil)
		})
	}
}

// raw is a plain gosnmp session for looking at what the driver wrote.
func raw(t *testing.T, ag *snmpsim.Agent) *gosnmp.GoSNMP {
	host, port, _ := net.SplitHostPort(ag.Addr)
	p, _ := strconv.Atoi(port)
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Community: ag.Community, Version: gosnmp.Version2c, Timeout: 2 * time.Second, Retries: 1}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Conn.Close() })
	return g
}

func rawGet(t *testing.T, g *gosnmp.GoSNMP, oid string) gosnmp.SnmpPDU {
	t.Helper()
	r, err := g.Get([]string{oid})
	if err != nil || r.Error != gosnmp.NoError || len(r.Variables) != 1 {
		t.Fatalf("get %s: %v %+v", oid, err, r)
	}
	return r.Variables[0]
}

func rawList(t *testing.T, g *gosnmp.GoSNMP, column string, vid int) []byte {
	t.Helper()
	v := rawGet(t, g, ".1.3.6.1.2.1.17.7.1.4.3.1."+column+"."+strconv.Itoa(vid))
	b, ok := v.Value.([]byte)
	if !ok {
		t.Fatalf("%s: %s %v", v.Name, v.Type, v.Value)
	}
	return b
}

func rawSet(t *testing.T, g *gosnmp.GoSNMP, column string, vid int, b []byte) {
	t.Helper()
	r, err := g.Set([]gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.17.7.1.4.3.1." + column + "." + strconv.Itoa(vid), Type: gosnmp.OctetString, Value: b}})
	if err != nil || r.Error != gosnmp.NoError || r.Variables[0].Type != gosnmp.OctetString {
		t.Fatalf("set: %v %+v", err, r)
	}
}

func hexEq(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if string(got) != string(want) {
		t.Fatalf("%s = % x, want % x", what, got, want)
	}
}

// Bits the change does not name stay as they were, including bits above
// the switch's ports, and short untagged lists are padded when written.
func TestOnlyOwnedBitsChange(t *testing.T) {
	ag := startAgent(t, snmpsim.Arista)
	g := raw(t, ag)
	d := open(t, v2c(ag), 40, 41)

	// VLAN 41 as recorded: egress 0f ff bf 6d 84 03 20 .. 10, untagged
	// 0f ff bf 6d 84 00 20 (7 octets). Ethernet1 joins, Ethernet5 leaves.
	mustApply(t, d, switchdrv.Change{VLAN: 41, Add: []string{"Ethernet1"}, Remove: []string{"Ethernet5"}})
	hexEq(t, "vlan 41 egress", rawList(t, g, "2", 41), []byte{0x87, 0xff, 0xbf, 0x6d, 0x84, 0x03, 0x20, 0, 0, 0, 0, 0, 0x10})
	hexEq(t, "vlan 41 untagged", rawList(t, g, "4", 41), []byte{0x07, 0xff, 0xbf, 0x6d, 0x84, 0x00, 0x20, 0, 0, 0, 0, 0, 0})
	if name := rawGet(t, g, ".1.3.6.1.2.1.17.7.1.4.3.1.1.41").Value.([]byte); string(name) != "baopan_sfit" {
		t.Fatalf("name changed to %q though the change named none", name)
	}

	// VLAN 40: untagged 30 00 40 (3 octets: ports 3, 4, 18). Making port 3
	// tagged clears only its untagged bit and writes a full-length list.
	mustApply(t, d, switchdrv.Change{VLAN: 40, Name: "Baopan-Zhilian", Add: []string{"Ethernet3"}})
	hexEq(t, "vlan 40 egress", rawList(t, g, "2", 40), []byte{0x30, 0x00, 0x40, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 0x10})
	hexEq(t, "vlan 40 untagged", rawList(t, g, "4", 40), []byte{0x10, 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	wantVLAN(t, d, 40, "Baopan-Zhilian", []string{"Ethernet3", "Ethernet47", "Ethernet48", "Port-Channel1"}, []string{"Ethernet4", "Ethernet18"})

	// Unknown high bits (a 16-octet list with port 125 set, above port 100)
	// survive a change.
	mustApply(t, d, switchdrv.Change{VLAN: 3050, Name: "vc-3050", Add: []string{"Ethernet2"}})
	rawSet(t, g, "2", 3050, []byte{0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08})
	mustApply(t, d, switchdrv.Change{VLAN: 3050, Name: "vc-3050", Add: []string{"Port-Channel1"}, Remove: []string{"Ethernet2"}})
	hexEq(t, "vlan 3050 egress", rawList(t, g, "2", 3050), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0x08})
	wantVLAN(t, d, 3050, "vc-3050", []string{"Port-Channel1", "125"}, nil)

	// A managed VLAN is the only kind that changes: VLAN 80 is not managed
	// by this driver, and nothing is sent for it.
	before := rawList(t, g, "2", 80)
	err := d.Apply(ctx(t), switchdrv.Change{VLAN: 80, Add: []string{"Ethernet1"}})
	if !errors.Is(err, switchdrv.ErrRejected) {
		t.Fatalf("unmanaged vlan: err = %v, want rejected", err)
	}
	hexEq(t, "vlan 80 egress", rawList(t, g, "2", 80), before)

	// An unknown port name is an error naming it, and nothing is written.
	err = d.Apply(ctx(t), switchdrv.Change{VLAN: 3050, Add: []string{"Ethernet99"}})
	var e *switchdrv.Error
	if !errors.As(err, &e) || e.Port != "Ethernet99" || e.Kind != switchdrv.Rejected {
		t.Fatalf("unknown port: err = %v", err)
	}
}

// The Brocade answers PortLists as 16-bit port numbers: the driver refuses
// it and writes nothing.
func TestBrocadeRefused(t *testing.T) {
	ag := startAgent(t, snmpsim.Brocade)
	g := raw(t, ag)
	d := open(t, v2c(ag), 1)
	before := rawList(t, g, "2", 1)
	for _, c := range []switchdrv.Change{
		{VLAN: 3001, Name: "vc-3001", Add: []string{"ethernet1/1/1"}},
		{VLAN: 1, Add: []string{"ethernet1/1/2"}},
	} {
		if err := d.Apply(ctx(t), c); !errors.Is(err, switchdrv.ErrBadAnswer) {
			t.Fatalf("apply %+v: err = %v, want bad answer", c, err)
		}
	}
	if _, _, err := d.VLAN(ctx(t), 1); !errors.Is(err, switchdrv.ErrBadAnswer) {
		t.Fatalf("vlan 1: err = %v, want bad answer", err)
	}
	if _, err := d.VLANs(ctx(t)); !errors.Is(err, switchdrv.ErrBadAnswer) {
		t.Fatalf("vlans: err = %v, want bad answer", err)
	}
	hexEq(t, "vlan 1 egress", rawList(t, g, "2", 1), before)
	if v := rawGet(t, g, ".1.3.6.1.2.1.17.7.1.4.3.1.5.3001"); v.Type != gosnmp.NoSuchInstance {
		t.Fatalf("vlan 3001 row status = %s %v, want no such instance", v.Type, v.Value)
	}
}

// Wrong credentials: snmpsim stays silent to a wrong community, unknown
// user and wrong privacy key (no answer), and answers a wrong
// authentication key with a report the driver reads as refused credentials.
func TestWrongCredentials(t *testing.T) {
	ag := startAgent(t, snmpsim.DLink)
	// Silence is waited for briefly; the answer to a wrong auth key is
	// given time to arrive on a busy machine.
	short, long := config.Duration{Duration: 400 * time.Millisecond}, config.Duration{Duration: 10 * time.Second}
	bad := func(f func(s *snmp.Config), timeout config.Duration) *config.Switch {
		c := v3(t, ag, 0, "private")
		f(c.Settings.(*snmp.Config))
		c.Timeout = timeout
		return c
	}
	for _, tc := range []struct {
		name string
		cfg  *config.Switch
		want switchdrv.Kind
	}{
		{"community", &config.Switch{Driver: "snmp", Address: ag.Addr, Timeout: short,
			Settings: &snmp.Config{Version: "2c", Community: config.NewSecret("wrong")}}, switchdrv.NoAnswer},
		{"user", bad(func(s *snmp.Config) { s.User = "nobody" }, short), switchdrv.NoAnswer},
		{"auth-key", bad(func(s *snmp.Config) { s.AuthKey = config.NewSecret("wrong-auth-key") }, long), switchdrv.CredentialsRefused},
		{"priv-key", bad(func(s *snmp.Config) { s.PrivKey = config.NewSecret("wrong-priv-key") }, short), switchdrv.NoAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := open(t, tc.cfg)
			_, _, err := d.VLAN(ctx(t), 1)
			if k := switchdrv.KindOf(err); k != tc.want {
				t.Fatalf("err = %v (kind %s), want %s", err, k, tc.want)
			}
			err = d.Apply(ctx(t), switchdrv.Change{VLAN: 3001, Add: []string{"1"}})
			if k := switchdrv.KindOf(err); k != tc.want {
				t.Fatalf("apply: err = %v (kind %s), want %s", err, k, tc.want)
			}
		})
	}
}
