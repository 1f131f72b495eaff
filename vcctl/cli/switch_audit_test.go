package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/switchdrv"
)

func runAt(t *testing.T, url, token string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(append([]string{"vcctl", "--server", url, "--token", token}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// rows splits a table into its lines' fields, without the header.
func rows(out string) [][]string {
	var rs [][]string
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if i > 0 {
			rs = append(rs, strings.Fields(line))
		}
	}
	return rs
}

func TestSwitchShowFollowsALeasesLife(t *testing.T) {
	f := audittest.Start(t)
	view := leasetest.ViewerToken
	code, out, errOut := runAt(t, f.URL, view, "switch", "ls")
	if code != 0 || !strings.HasPrefix(out, "SWITCH") || len(rows(out)) != 3 {
		t.Fatalf("switch ls: %d %q %q", code, out, errOut)
	}
	if r := rows(out)[2]; strings.Join(r, " ") != fmt.Sprintf("praha-sw1 praha ssh %s Gi1/0/48", f.Praha.Addr()) {
		t.Fatalf("praha row: %v", r)
	}
	code, out, _ = runAt(t, f.URL, view, "-o", "json", "switch", "list")
	var sws []api.Switch
	if code != 0 || json.Unmarshal([]byte(out), &sws) != nil || len(sws) != 3 || sws[0].Name != "brno-sw1" || sws[0].Driver != "snmp" {
		t.Fatalf("switch list json: %d %q", code, out)
	}

	l := f.Srv.Activate("7.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	vid := fmt.Sprint(l.VLAN)
	want := map[string]string{
		"brno-sw1":  "Ethernet3,Ethernet4,Ethernet48",
		"praha-sw1": "Gi1/0/9,Gi1/0/48", // the device's order
		"plzen-sw1": "ge-0/0/23,ge-0/0/47",
	}
	for sw, tagged := range want {
		code, out, errOut := runAt(t, f.URL, view, "switch", "show", sw, "--vlan", vid)
		if code != 0 || !strings.HasPrefix(out, "VLAN  ") {
			t.Fatalf("switch show %s: %d %q %q", sw, code, out, errOut)
		}
		r := rows(out)
		if len(r) != 1 || strings.Join(r[0], " ") != fmt.Sprintf("%s vc-%s %s -", vid, vid, tagged) {
			t.Fatalf("switch show %s --vlan %s: %q, want the VLAN with exactly %s tagged", sw, vid, out, tagged)
		}
	}
	// Without --vlan: every VLAN of the device, the lease's among them.
	if code, out, _ := runAt(t, f.URL, view, "switch", "show", "brno-sw1"); code != 0 || !strings.Contains(out, "\n"+vid+" ") || !strings.Contains(out, "\n40 ") {
		t.Fatalf("switch show brno-sw1: %d %q", code, out)
	}

	if _, err := f.Srv.Client(leasetest.SchedulerToken).Release(context.Background(), l.Job, l.Token); err != nil {
		t.Fatal(err)
	}
	// Viewers get the server's last reading; admins read the devices now.
	for sw := range want {
		if code, out, _ := runAt(t, f.URL, leasetest.AdminToken, "switch", "show", sw, "--vlan", vid); code != 0 || len(rows(out)) != 0 {
			t.Fatalf("after release %s still shows: %d %q", sw, code, out)
		}
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"switch", "show", "nope"}, ExitNotFound, `no switch "nope"`},
		{[]string{"switch", "show", "praha-sw1", "--vlan", "5000"}, ExitUsage, "1-4094"},
		{[]string{"switch", "show"}, ExitUsage, "needs exactly one SWITCH"},
	} {
		code, _, errOut := runAt(t, f.URL, view, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Fatalf("%v: %d %q, want %d and %q on one line", c.args, code, errOut, c.code, c.msg)
		}
	}
}

func TestAuditThroughVcctl(t *testing.T) {
	const clean = "no drift: 3 switch(es) carry exactly what the live leases explain\n"
	f := audittest.Start(t)
	adm, view := leasetest.AdminToken, leasetest.ViewerToken
	l := f.Srv.Activate("8.pbs", "skurut9-1")
	if code, out, errOut := runAt(t, f.URL, view, "audit"); code != 0 || out != clean || errOut != "" {
		t.Fatalf("clean audit: %d %q %q", code, out, errOut)
	}
	if err := f.Praha.AddVLAN(200, "by-hand", "Gi1/0/20"); err != nil {
		t.Fatal(err)
	}
	if err := f.Praha.SetPortMode("Gi1/0/9", "access"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runAt(t, f.URL, adm, "audit", "--switch", "praha-sw1")
	wantRows := fmt.Sprintf("[[praha-sw1 missing %d Gi1/0/9 8.pbs found] [praha-sw1 orphan 200 Gi1/0/20 - found]]", l.VLAN)
	if code != ExitFailure || fmt.Sprint(rows(out)) != wantRows || !strings.Contains(errOut, "drift found: 2 finding(s); run with --fix") {
		t.Fatalf("audit with drift: %d\n%s\n%q\nwant rows %s", code, out, errOut, wantRows)
	}
	code, out, _ = runAt(t, f.URL, adm, "-o", "json", "audit")
	var rep api.AuditReport
	if code != ExitFailure || json.Unmarshal([]byte(out), &rep) != nil || rep.Drift != 2 || len(rep.Switches) != 3 || rep.Counts["orphan"] != 1 {
		t.Fatalf("audit json: %d %q", code, out)
	}
	if code, _, errOut := runAt(t, f.URL, view, "audit", "--fix"); code != ExitFailure || !strings.Contains(errOut, "may not do this") {
		t.Fatalf("a viewer fixed: %d %q", code, errOut)
	}
	// The orphan goes; the access port is reported, never forced back to trunk.
	code, out, errOut = runAt(t, f.URL, adm, "audit", "--fix")
	if code != ExitFailure || !strings.Contains(errOut, "1 finding(s) not fixed") {
		t.Fatalf("audit --fix with an access port: %d\n%s\n%q", code, out, errOut)
	}
	if r := rows(out); len(r) != 2 || strings.Join(r[1], " ") != "praha-sw1 orphan 200 Gi1/0/20 - fixed" || r[0][5] != "not" {
		t.Fatalf("audit --fix rows: %v", r)
	}
	if err := f.Praha.SetPortMode("Gi1/0/9", "trunk"); err != nil {
		t.Fatal(err)
	}
	f.Apply(t, "plzen-sw1", switchdrv.Change{VLAN: 190, Name: "left", Add: []string{"ge-0/0/2"}})
	if code, out, errOut := runAt(t, f.URL, adm, "audit", "--fix"); code != 0 || fmt.Sprint(rows(out)) != "[[plzen-sw1 orphan 190 ge-0/0/2 - fixed]]" || errOut != "" {
		t.Fatalf("audit --fix: %d\n%s\n%q", code, out, errOut)
	}
	if code, out, _ := runAt(t, f.URL, adm, "audit"); code != 0 || out != clean {
		t.Fatalf("after the fix: %d %q", code, out)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"audit", "--switch", "nope"}, ExitNotFound, `no switch "nope"`},
		{[]string{"audit", "praha-sw1"}, ExitUsage, "no arguments"},
	} {
		code, _, errOut := runAt(t, f.URL, view, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Fatalf("%v: %d %q, want %d and %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}
