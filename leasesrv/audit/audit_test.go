package audit_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/audit"
	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// findings renders a report's findings one per line, for comparison.
func findings(rep *api.AuditReport) string {
	var lines []string
	for _, s := range rep.Switches {
		for _, f := range s.Findings {
			line := fmt.Sprintf("%s %s %d %s %s", f.Switch, f.Kind, f.VLAN, strings.Join(f.Ports, ","), f.Lease)
			if f.Fixed {
				line += " fixed"
			}
			if f.Error != "" {
				line += " error"
			}
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

func run(t *testing.T, f *audittest.Fabric, o audit.Options) *api.AuditReport {
	t.Helper()
	rep, err := f.Rec.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// gauge reads virtcloud_audit_findings{switch,kind} from the server's /metrics.
func gauge(t *testing.T, f *audittest.Fabric, sw, kind string) string {
	t.Helper()
	resp, err := http.Get(f.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	prefix := fmt.Sprintf("virtcloud_audit_findings{kind=%q,switch=%q} ", kind, sw)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return "absent"
}

// on reads which ports of one switch carry vid.
func on(t *testing.T, f *audittest.Fabric, sw string, vid int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, _, err := f.Behind(t, sw).VLAN(ctx, vid)
	if err != nil {
		t.Fatal(err)
	}
	return append(v.Tagged, v.Untagged...)
}

func TestDriftInjectedOnDevicesIsFoundAndFixed(t *testing.T) {
	f := audittest.Start(t)
	l := f.Srv.Activate("1.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	want := map[string][]string{
		"brno-sw1":  {"Ethernet3", "Ethernet4", "Ethernet48"},
		"praha-sw1": {"Gi1/0/48", "Gi1/0/9"},
		"plzen-sw1": {"ge-0/0/23", "ge-0/0/47"},
	}
	if got := f.Carried(t, l.VLAN); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after commit: %v", got)
	}
	if rep := run(t, f, audit.Options{}); !rep.Clean() || len(rep.Switches) != 3 {
		t.Fatalf("a freshly committed fabric is not clean:\n%s\n%+v", findings(rep), rep)
	}

	// Drift, each kind on each kind of device, made behind the server's back.
	v := l.VLAN
	f.Apply(t, "brno-sw1", switchdrv.Change{VLAN: 120, Name: "rogue", Add: []string{"Ethernet5"}})    // orphan, SNMP
	f.Apply(t, "brno-sw1", switchdrv.Change{VLAN: 300, Name: "theirs", Add: []string{"Ethernet6"}})   // outside brno's pool
	f.Apply(t, "brno-sw1", switchdrv.Change{VLAN: 150, Name: "excluded", Add: []string{"Ethernet8"}}) // excluded from brno's pool
	if err := f.Praha.AddVLAN(210, "empty"); err != nil {                                             // orphan without ports, IOS
		t.Fatal(err)
	}
	f.Apply(t, "brno-sw1", switchdrv.Change{VLAN: v, Remove: []string{"Ethernet4"}})                             // missing, SNMP
	f.Apply(t, "praha-sw1", switchdrv.Change{VLAN: v, Name: fmt.Sprintf("vc-%d", v), Add: []string{"Gi1/0/10"}}) // extra, IOS
	f.Apply(t, "praha-sw1", switchdrv.Change{VLAN: v, Remove: []string{"Gi1/0/9"}})                              // missing, IOS
	if err := f.Praha.AddVLAN(200, "by-hand", "Gi1/0/20"); err != nil {                                          // orphan, IOS
		t.Fatal(err)
	}
	if err := f.Plzen.AddVLAN(v, fmt.Sprintf("vc-%d", v), "ge-0/0/5"); err != nil { // extra, Junos
		t.Fatal(err)
	}
	if err := f.Plzen.AddVLAN(3000, "core", "ge-0/0/1"); err != nil { // outside plzen's pool
		t.Fatal(err)
	}
	wantDrift := strings.Join([]string{
		"brno-sw1 orphan 120 Ethernet5 ",
		fmt.Sprintf("brno-sw1 missing %d Ethernet4 1.pbs", v),
		fmt.Sprintf("plzen-sw1 extra %d ge-0/0/5 1.pbs", v),
		fmt.Sprintf("praha-sw1 missing %d Gi1/0/9 1.pbs", v),
		fmt.Sprintf("praha-sw1 extra %d Gi1/0/10 1.pbs", v),
		"praha-sw1 orphan 200 Gi1/0/20 ",
		"praha-sw1 orphan 210  ",
	}, "\n")
	rep := run(t, f, audit.Options{})
	if got := findings(rep); got != wantDrift || rep.Drift != 7 || rep.Clean() {
		t.Fatalf("audit found\n%s\nwant\n%s", got, wantDrift)
	}
	if rep.Counts[api.DriftOrphan] != 3 || rep.Counts[api.DriftMissing] != 2 || rep.Counts[api.DriftExtra] != 2 {
		t.Fatalf("counts %v", rep.Counts)
	}
	if g := gauge(t, f, "praha-sw1", api.DriftOrphan); g != "2" {
		t.Fatalf("virtcloud_audit_findings{praha-sw1,orphan} = %s, want 2", g)
	}
	// Reporting changed nothing.
	if got := f.Carried(t, 120); fmt.Sprint(got) != "map[brno-sw1:[Ethernet5]]" {
		t.Fatalf("a report-only audit changed vlan 120: %v", got)
	}

	rep = run(t, f, audit.Options{Fix: true})
	if got := findings(rep); got != strings.ReplaceAll(wantDrift, "\n", " fixed\n")+" fixed" || rep.Drift != 0 || !rep.Clean() {
		t.Fatalf("fix:\n%s", got)
	}
	if got := f.Carried(t, v); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the fix vlan %d is on %v, want %v", v, got, want)
	}
	for _, vid := range []int{120, 200, 210} {
		if got := f.Carried(t, vid); len(got) != 0 {
			t.Fatalf("orphan vlan %d is still on %v", vid, got)
		}
	}
	// Nothing outside the managed ranges was touched.
	if got := f.Carried(t, 300); fmt.Sprint(got) != "map[brno-sw1:[Ethernet6]]" {
		t.Fatalf("vlan 300 (not managed at brno) changed: %v", got)
	}
	if got := f.Carried(t, 150); fmt.Sprint(got) != "map[brno-sw1:[Ethernet8]]" {
		t.Fatalf("vlan 150 (excluded from brno's pool) changed: %v", got)
	}
	if got := f.Carried(t, 3000); fmt.Sprint(got) != "map[plzen-sw1:[ge-0/0/1]]" {
		t.Fatalf("vlan 3000 (not managed at plzen) changed: %v", got)
	}
	if got := f.Carried(t, 40); len(got["brno-sw1"]) == 0 {
		t.Fatalf("the recorded vlan 40 of the Arista is gone: %v", got)
	}
	if g := gauge(t, f, "praha-sw1", api.DriftOrphan); g != "0" {
		t.Fatalf("after the fix virtcloud_audit_findings{praha-sw1,orphan} = %s", g)
	}
	if rep := run(t, f, audit.Options{}); !rep.Clean() {
		t.Fatalf("after the fix:\n%s", findings(rep))
	}

	// The server's own driver refuses an unmanaged VLAN whatever asks it.
	d, err := f.Fleet.Driver("brno-sw1")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(context.Background(), switchdrv.Change{VLAN: 300, Remove: []string{"Ethernet6"}, Delete: true}); switchdrv.KindOf(err) != switchdrv.Rejected {
		t.Fatalf("the server's driver changed unmanaged vlan 300: %v", err)
	}
}

func TestPortInTheWrongModeIsReportedNotForced(t *testing.T) {
	f := audittest.Start(t)
	l := f.Srv.Activate("2.pbs", "skurut9-1")
	// An administrator turns the host's trunk into an access port: it no
	// longer carries the VLAN, and the reconciler must not change its mode.
	if err := f.Praha.SetPortMode("Gi1/0/9", "access"); err != nil {
		t.Fatal(err)
	}
	rep := run(t, f, audit.Options{Switch: "praha-sw1", Fix: true})
	want := fmt.Sprintf("praha-sw1 missing %d Gi1/0/9 2.pbs error", l.VLAN)
	if got := findings(rep); got != want || rep.Drift != 1 || len(rep.Switches) != 1 {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if m, _ := f.Praha.PortMode("Gi1/0/9"); m != "access" {
		t.Fatalf("the reconciler changed the port's mode to %s", m)
	}
	if err := f.Praha.SetPortMode("Gi1/0/9", "trunk"); err != nil {
		t.Fatal(err)
	}
	if rep := run(t, f, audit.Options{Switch: "praha-sw1", Fix: true}); rep.Drift != 0 {
		t.Fatalf("back in trunk mode:\n%s", findings(rep))
	}
}

func TestUnreachableSwitchAndLeasesInFlux(t *testing.T) {
	f := audittest.Start(t)
	ctx := context.Background()
	l := f.Srv.Activate("3.pbs", "skirit82-1", "konos23-1")
	// A held lease's VLAN found on a device is an orphan: holds configure nothing.
	held := f.Srv.Create("4.pbs", "skirit83-1")
	f.Apply(t, "brno-sw1", switchdrv.Change{VLAN: held.VLAN, Name: "late", Add: []string{"Ethernet7"}})

	// plzen stops answering: the release tears brno down but stays
	// releasing until plzen is back.
	f.Plzen.Stop()
	// The caller does not wait the commit timeout for it.
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	f.Srv.Client(leasetest.SchedulerToken).Release(rctx, l.Job, l.Token)
	cancel()
	for i := 0; f.Srv.Get(l.Job).State == api.StateActive && i < 100; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	f.Srv.Svc.Wait() // the teardown worker gave up on plzen
	if got := f.Srv.Get(l.Job); got.State != api.StateReleasing {
		t.Fatalf("lease is %s", got.State)
	}
	// Something puts the releasing lease's VLAN back on brno: in flux, left
	// to the teardown that is still retrying.
	f.Apply(t, "brno-sw1", switchdrv.Change{VLAN: l.VLAN, Name: "x", Add: []string{"Ethernet9"}})
	before := on(t, f, "brno-sw1", l.VLAN)

	rep := run(t, f, audit.Options{Fix: true})
	if rep.Unreachable != 1 || rep.Counts["unreachable"] != 1 {
		t.Fatalf("unreachable %d", rep.Unreachable)
	}
	for _, s := range rep.Switches {
		switch s.Switch {
		case "plzen-sw1":
			if s.Reachable || s.Error == "" {
				t.Fatalf("plzen: %+v", s)
			}
		case "brno-sw1":
			if !slices.Equal(s.InFlux, []int{l.VLAN}) {
				t.Fatalf("brno in flux: %v, want [%d]", s.InFlux, l.VLAN)
			}
		}
	}
	wantFix := fmt.Sprintf("brno-sw1 orphan %d Ethernet7  fixed", held.VLAN)
	if got := findings(rep); got != wantFix {
		t.Fatalf("got\n%s\nwant\n%s", got, wantFix)
	}
	if got := on(t, f, "brno-sw1", l.VLAN); !slices.Equal(got, before) || !slices.Contains(got, "Ethernet9") {
		t.Fatalf("the reconciler touched a VLAN in flux: %v, was %v", got, before)
	}
}
