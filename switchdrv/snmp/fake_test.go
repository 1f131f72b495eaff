package snmp

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
)

func openFake(t testing.TB, a *fakeAgent, timeout time.Duration) *Driver {
	cfg := &config.Switch{Driver: "snmp", Address: a.addr, Timeout: config.Duration{Duration: timeout},
		Settings: &Config{Version: "2c", Community: config.NewSecret("private")}}
	d, err := New(cfg, switchdrv.Options{Name: "fake", Managed: func(vid int) bool { return vid >= 100 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d.(*Driver)
}

func bg(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// A real agent reads a created row back as active(1); one that refuses
// createAndGo gets createAndWait, the columns, then active.
func TestCreateAndGoRefused(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		a := startFake(t, readSnmprec(t, "dlink-des3200-18"), func(a *fakeAgent) { a.refuseCreateAndGo = refuse })
		d := openFake(t, a, 5*time.Second)
		if err := d.Apply(bg(t), switchdrv.Change{VLAN: 100, Name: "vc-100", Add: []string{"3", "4"}}); err != nil {
			t.Fatalf("refuse=%v: %v", refuse, err)
		}
		if v := a.value(col(oidStaticRowStatus, 100)); v.Value != active {
			t.Fatalf("refuse=%v: row status %v, want active", refuse, v.Value)
		}
		var statuses []any
		for _, pdu := range a.setPDUs() {
			for _, v := range pdu {
				if strings.HasPrefix(v.Name, oidStaticRowStatus) {
					statuses = append(statuses, v.Value)
				}
			}
		}
		want := []any{createAndGo}
		if refuse {
			want = []any{createAndGo, createAndWait, active}
		}
		if len(statuses) != len(want) || statuses[0] != want[0] || statuses[len(statuses)-1] != want[len(want)-1] {
			t.Fatalf("refuse=%v: row statuses sent %v, want %v", refuse, statuses, want)
		}
		v, found, err := d.VLAN(bg(t), 100)
		if err != nil || !found || v.Name != "vc-100" || strings.Join(v.Tagged, ",") != "3,4" {
			t.Fatalf("refuse=%v: read back %+v %v %v", refuse, v, found, err)
		}
		// Delete removes the row on a real agent; twice is fine.
		for range 2 {
			if err := d.Apply(bg(t), switchdrv.Change{VLAN: 100, Delete: true}); err != nil {
				t.Fatal(err)
			}
		}
		if _, found, err := d.VLAN(bg(t), 100); err != nil || found {
			t.Fatalf("after delete: found=%v err=%v", found, err)
		}
	}
}

// A row left notReady by an interrupted creation is completed and activated.
func TestHalfMadeRowActivated(t *testing.T) {
	a := startFake(t, readSnmprec(t, "dlink-des3200-18"))
	a.put(gosnmp.SnmpPDU{Name: col(oidStaticRowStatus, 101), Type: gosnmp.Integer, Value: notReady})
	d := openFake(t, a, 5*time.Second)
	if err := d.Apply(bg(t), switchdrv.Change{VLAN: 101, Name: "vc-101", Add: []string{"5"}}); err != nil {
		t.Fatal(err)
	}
	if v := a.value(col(oidStaticRowStatus, 101)); v.Value != active {
		t.Fatalf("row status %v, want active", v.Value)
	}
	if got := a.value(col(oidStaticEgress, 101)).Value.([]byte); !PortList(got).Has(5) || len(got) != 3 {
		t.Fatalf("egress % x", got)
	}
}

// Refusals come back as Rejected whether the agent says so in error-status
// or, like snmpsim, in noSuchInstance varbinds under noError.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    func(a *fakeAgent)
		change switchdrv.Change
		want   string
	}{
		{"error-status on change", func(a *fakeAgent) { a.setError = gosnmp.WrongValue }, switchdrv.Change{VLAN: 1113, Add: []string{"3"}}, "WrongValue"},
		{"error-status on create", func(a *fakeAgent) { a.setError = gosnmp.ResourceUnavailable }, switchdrv.Change{VLAN: 200, Add: []string{"7"}}, "ResourceUnavailable"},
		{"noSuchInstance on change", func(a *fakeAgent) { a.setNoSuch = true }, switchdrv.Change{VLAN: 1113, Name: "x", Add: []string{"9"}}, "NoSuchInstance"},
		{"noSuchInstance on create", func(a *fakeAgent) { a.setNoSuch = true }, switchdrv.Change{VLAN: 200, Add: []string{"7"}}, "NoSuchInstance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startFake(t, readSnmprec(t, "dlink-des3200-18"), tc.set)
			d := openFake(t, a, 5*time.Second)
			err := d.Apply(bg(t), tc.change)
			if !errors.Is(err, switchdrv.ErrRejected) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want rejected with %s", err, tc.want)
			}
			var e *switchdrv.Error
			if !errors.As(err, &e) || e.Switch != "fake" || e.VLAN != tc.change.VLAN {
				t.Fatalf("error does not name switch and vlan: %#v", err)
			}
		})
	}
}

// Unmanaged VLANs and contradictory changes are refused before anything
// is sent.
func TestNothingSentForBadChanges(t *testing.T) {
	a := startFake(t, readSnmprec(t, "dlink-des3200-18"))
	d := openFake(t, a, 5*time.Second)
	for _, c := range []switchdrv.Change{
		{VLAN: 41, Add: []string{"1"}},
		{VLAN: 5000, Add: []string{"1"}},
		{VLAN: 100, Add: []string{"1"}, Delete: true},
		{VLAN: 100, Name: strings.Repeat("n", 33), Add: []string{"1"}},
	} {
		if err := d.Apply(bg(t), c); !errors.Is(err, switchdrv.ErrRejected) {
			t.Fatalf("%+v: err = %v, want rejected", c, err)
		}
	}
	if gets, sets := a.counts(); gets != 0 || sets != 0 {
		t.Fatalf("%d reads and %d sets sent for refused changes", gets, sets)
	}
}

// A GET answer of the wrong type is a bad answer, and nothing is written.
func TestBadTypes(t *testing.T) {
	a := startFake(t, readSnmprec(t, "dlink-des3200-18"))
	a.put(gosnmp.SnmpPDU{Name: col(oidStaticUntagged, 1113), Type: gosnmp.Integer, Value: 7})
	d := openFake(t, a, 5*time.Second)
	if err := d.Apply(bg(t), switchdrv.Change{VLAN: 1113, Add: []string{"2"}}); !errors.Is(err, switchdrv.ErrBadAnswer) {
		t.Fatalf("err = %v, want bad answer", err)
	}
	if _, sets := a.counts(); sets != 0 {
		t.Fatalf("%d sets sent after a bad answer", sets)
	}
}

// SNMPv3 report PDUs mean refused credentials, named in the error.
func TestReports(t *testing.T) {
	for oid, want := range map[string]string{
		".1.3.6.1.6.3.15.1.1.3.0": "usmStatsUnknownUserNames",
		".1.3.6.1.6.3.15.1.1.5.0": "usmStatsWrongDigests",
		".1.3.6.1.6.3.15.1.1.6.0": "usmStatsDecryptionErrors",
		".1.3.6.1.6.3.15.1.1.1.0": "usmStatsUnsupportedSecLevels",
	} {
		t.Run(want, func(t *testing.T) {
			a := startFake(t, nil, func(a *fakeAgent) { a.report = oid })
			cfg := &config.Switch{Driver: "snmp", Address: a.addr, Timeout: config.Duration{Duration: 2 * time.Second},
				Settings: &Config{Version: "3", User: "u", AuthProtocol: "SHA256", AuthKey: config.NewSecret("auth-key-1"),
					PrivProtocol: "AES", PrivKey: config.NewSecret("priv-key-1")}}
			d, err := New(cfg, switchdrv.Options{Name: "fake"})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			_, err = d.VLANs(bg(t))
			if !errors.Is(err, switchdrv.ErrCredentialsRefused) || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want credentials refused naming %s", err, want)
			}
		})
	}
}

// An agent that answered the read but not the SET timed out; one that never
// answers gives no answer.
func TestSilence(t *testing.T) {
	a := startFake(t, readSnmprec(t, "dlink-des3200-18"), func(a *fakeAgent) { a.silentSets = true })
	d := openFake(t, a, time.Minute)
	if _, err := d.VLANs(bg(t)); err != nil { // the port map, read without hurry
		t.Fatal(err)
	}
	d.timeout = time.Second
	if err := d.Apply(bg(t), switchdrv.Change{VLAN: 100, Add: []string{"1"}}); !errors.Is(err, switchdrv.ErrTimedOut) {
		t.Fatalf("err = %v, want timed out", err)
	}
	a.conn.Close()
	d = openFake(t, a, 300*time.Millisecond)
	if _, err := d.VLANs(bg(t)); !errors.Is(err, switchdrv.ErrNoAnswer) {
		t.Fatalf("err = %v, want no answer", err)
	}
}

// A change costs one GET and one SET whatever the number of ports, and a
// change already in place costs only the GET.
func TestRoundTrips(t *testing.T) {
	a := startFake(t, syntheticSwitch(256))
	d := openFake(t, a, 5*time.Second)
	if _, err := d.VLANs(bg(t)); err != nil { // loads the port map
		t.Fatal(err)
	}
	for _, n := range []int{1, 8, 64, 256} {
		ports := portNames(n)
		g0, s0 := a.counts()
		if err := d.Apply(bg(t), switchdrv.Change{VLAN: 100 + n, Name: "vc", Add: ports}); err != nil {
			t.Fatal(err)
		}
		g1, s1 := a.counts()
		if g1-g0 != 1 || s1-s0 != 1 {
			t.Fatalf("%d ports: %d reads and %d sets, want 1 and 1", n, g1-g0, s1-s0)
		}
		if err := d.Apply(bg(t), switchdrv.Change{VLAN: 100 + n, Name: "vc", Add: ports}); err != nil {
			t.Fatal(err)
		}
		g2, s2 := a.counts()
		if g2-g1 != 1 || s2 != s1 {
			t.Fatalf("%d ports again: %d reads and %d sets, want 1 and 0", n, g2-g1, s2-s1)
		}
		v, _, err := d.VLAN(bg(t), 100+n)
		if err != nil || len(v.Tagged) != n || len(v.Untagged) != 0 {
			t.Fatalf("read back %d tagged, %d untagged, err %v", len(v.Tagged), len(v.Untagged), err)
		}
	}
}

func portNames(n int) []string {
	var ps []string
	for i := 1; i <= n; i++ {
		ps = append(ps, "swp"+strconv.Itoa(i))
	}
	return ps
}
