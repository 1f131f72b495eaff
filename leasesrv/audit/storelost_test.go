package audit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

// health returns /healthz's status and body.
func health(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func code(err error) string {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// Redis emptied under a running server (FLUSHALL): within one reaper pass
// /healthz says store_lost, grants are refused with 503 store_lost, the gauge
// says so; the recovery keeps the VLAN still live on the switches out of the
// site and core pools, the fencing counter does not go back, and grants
// resume.
func TestEmptiedRedisIsNoticedAndRecovered(t *testing.T) {
	f := audittest.Start(t)
	ctx := context.Background()
	live := f.Srv.Activate("1.pbs", "skirit82-1", "skurut9-1") // brno and praha, over the core
	if status, body := health(t, f.URL); status != 200 {
		t.Fatalf("healthz before the loss: %d %s", status, body)
	}
	if err := f.Srv.RDB.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	f.Srv.Reap()
	status, body := health(t, f.URL)
	if status != 503 || !strings.Contains(body, api.CodeStoreLost) || !strings.Contains(body, "lost its data") {
		t.Fatalf("healthz after FLUSHALL: %d %s", status, body)
	}
	sched := client.New(f.URL, leasetest.SchedulerToken)
	_, _, err := sched.Create(ctx, client.CreateRequest{Job: "2.pbs", Owner: "bob", Hosts: []string{"skirit82-1", "skurut9-1"}})
	if code(err) != api.CodeStoreLost {
		t.Fatalf("create after FLUSHALL: %v; want 503 %s", err, api.CodeStoreLost)
	}
	if g := metric(t, f.URL, "virtcloud_store_lost"); g != "1" {
		t.Fatalf("virtcloud_store_lost = %q after FLUSHALL", g)
	}
	if _, err := client.New(f.URL, leasetest.SchedulerToken).RecoverStore(ctx); code(err) != api.CodeForbidden {
		t.Fatalf("a scheduler recovering the store: %v", err)
	}
	rec, err := client.New(f.URL, leasetest.AdminToken).RecoverStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Fence < live.Token {
		t.Fatalf("fence %d after recovery, below token %d already granted", rec.Fence, live.Token)
	}
	// The core's reservation is taken once, with the first site.
	want := []api.Orphan{{Site: "brno", Core: "default", VLAN: live.VLAN}, {Site: "praha", VLAN: live.VLAN}}
	if !slices.Equal(rec.Orphans, want) {
		t.Fatalf("orphans %+v; want %+v", rec.Orphans, want)
	}
	if status, body := health(t, f.URL); status != 200 {
		t.Fatalf("healthz after recovery: %d %s", status, body)
	}
	f.Srv.Reap()
	if status, body := health(t, f.URL); status != 200 {
		t.Fatalf("healthz a reaper pass after recovery: %d %s", status, body)
	}
	// Every grant now avoids the live VLAN, at one site or over the core.
	for i, hosts := range [][]string{{"skirit82-1", "skurut9-1"}, {"skirit83-1"}, {"skurut9-1"}} {
		l, _, err := sched.Create(ctx, client.CreateRequest{Job: string(rune('a'+i)) + ".pbs", Owner: "bob", Hosts: hosts})
		if err != nil {
			t.Fatal(err)
		}
		if l.VLAN == live.VLAN || l.Token <= live.Token {
			t.Fatalf("grant %v after recovery: VLAN %d token %d; the live VLAN is %d, token %d", hosts, l.VLAN, l.Token, live.VLAN, live.Token)
		}
	}
	if g := metric(t, f.URL, "virtcloud_store_lost"); g != "0" {
		t.Fatalf("virtcloud_store_lost = %q after recovery", g)
	}
}

// A store rolled back (an old snapshot: the fencing counter below what the
// server saw) is noticed within one reaper pass.
func TestRolledBackRedisIsNoticed(t *testing.T) {
	f := audittest.Start(t)
	f.Srv.Create("1.pbs", "skirit83-1")
	f.Srv.Create("2.pbs", "skirit83-1")
	if err := f.Srv.RDB.Set(context.Background(), "{vc}:fence", 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	f.Srv.Reap()
	if status, body := health(t, f.URL); status != 503 || !strings.Contains(body, "rolled back") {
		t.Fatalf("healthz after a rollback: %d %s", status, body)
	}
}

// A server restarted on an emptied Redis without server.state_file
// remembers nothing of the store; the switches do. VLANs of the managed
// ranges on them tell a store that lost its data from a new installation:
// grants are refused until a recovery, which reserves those VLANs, and a
// restart after it is trusted again.
func TestStartOnEmptiedRedisAsksTheSwitches(t *testing.T) {
	f := audittest.Start(t)
	ctx := context.Background()
	if status, body := health(t, f.URL); status != 200 {
		t.Fatalf("healthz of a new installation: %d %s", status, body)
	}
	live := f.Srv.Activate("1.pbs", "skirit82-1", "skurut9-1")
	if err := f.Srv.RDB.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	f.Restart(t)
	status, body := health(t, f.URL)
	if status != 503 || !strings.Contains(body, api.CodeStoreLost) || !strings.Contains(body, fmt.Sprintf("brno %d, praha %d", live.VLAN, live.VLAN)) {
		t.Fatalf("healthz of a server started on an emptied Redis: %d %s", status, body)
	}
	f.Srv.Reap() // the reaper's check keeps it so
	sched := client.New(f.URL, leasetest.SchedulerToken)
	if _, _, err := sched.Create(ctx, client.CreateRequest{Job: "2.pbs", Owner: "bob", Hosts: []string{"skirit82-1"}}); code(err) != api.CodeStoreLost {
		t.Fatalf("create on an emptied Redis: %v; want 503 %s", err, api.CodeStoreLost)
	}
	if g := metric(t, f.URL, "virtcloud_store_lost"); g != "1" {
		t.Fatalf("virtcloud_store_lost = %q", g)
	}
	rec, err := client.New(f.URL, leasetest.AdminToken).RecoverStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Orphans) != 2 {
		t.Fatalf("recovery reserved %+v; want brno's and praha's VLAN %d", rec.Orphans, live.VLAN)
	}
	f.Srv.Reap()
	if status, body := health(t, f.URL); status != 200 {
		t.Fatalf("healthz after recovery: %d %s", status, body)
	}
	l, _, err := sched.Create(ctx, client.CreateRequest{Job: "3.pbs", Owner: "bob", Hosts: []string{"skirit82-1", "skurut9-1"}})
	if err != nil || l.VLAN == live.VLAN {
		t.Fatalf("grant after recovery: %+v %v; the switches carry VLAN %d", l, err, live.VLAN)
	}
	f.Restart(t)
	if status, body := health(t, f.URL); status != 200 {
		t.Fatalf("healthz of a server restarted on the recovered store: %d %s", status, body)
	}
}

// metric reads one unlabelled sample from /metrics.
func metric(t *testing.T, url, name string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}
