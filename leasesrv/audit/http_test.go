package audit_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

func TestEndpointsRefuseBadInputClearly(t *testing.T) {
	f := audittest.Start(t)
	ctx := context.Background()
	view := client.New(f.URL, leasetest.ViewerToken)
	cases := []struct {
		method, path string
		status       int
		code, msg    string
	}{
		{"GET", "/v1/switches/nope", 404, api.CodeNotFound, `no switch "nope" in the configuration`},
		{"GET", "/v1/switches/praha-sw1?vlan=abc", 400, api.CodeBadRequest, `vlan: "abc" is not a VLAN ID (1-4094)`},
		{"GET", "/v1/switches/praha-sw1?vlan=4095", 400, api.CodeBadRequest, `vlan: "4095" is not a VLAN ID (1-4094)`},
		{"GET", "/v1/audit?switch=nope", 404, api.CodeNotFound, `switch: no switch "nope" in the configuration`},
		{"GET", "/v1/audit?fix=true", 400, api.CodeBadRequest, "fix: repairs need POST /v1/audit?fix=true"},
		{"POST", "/v1/audit?fix=true", 403, api.CodeForbidden, `token "viewer" (role viewer) may not do this`},
	}
	for _, c := range cases {
		err := view.Do(ctx, c.method, c.path, nil, nil)
		var ae *client.APIError
		if !asAPIError(err, &ae) || ae.Status != c.status || ae.Code != c.code || ae.Message != c.msg {
			t.Errorf("%s %s: %v, want %d %s %q", c.method, c.path, err, c.status, c.code, c.msg)
		}
	}
	adm := client.New(f.URL, leasetest.AdminToken)
	if err := adm.Do(ctx, "POST", "/v1/audit?fix=maybe", nil, nil); client.Code(err) != api.CodeBadRequest {
		t.Errorf("fix=maybe: %v", err)
	}
	// A switch that does not answer: 502 naming it, not a hang.
	f.Praha.Stop()
	err := view.Do(ctx, "GET", "/v1/switches/praha-sw1", nil, nil)
	var ae *client.APIError
	if !asAPIError(err, &ae) || ae.Status != http.StatusBadGateway || ae.Code != api.CodeNetworkFault {
		t.Fatalf("unreachable switch: %v", err)
	}
	var rep api.AuditReport
	if err := view.Do(ctx, "GET", "/v1/audit", nil, &rep); err != nil || rep.Unreachable != 1 || len(rep.Switches) != 3 {
		t.Fatalf("audit with praha down: %v %+v", err, rep)
	}
}

func asAPIError(err error, ae **client.APIError) bool {
	return errors.As(err, ae)
}

func TestBackgroundPassRepairs(t *testing.T) {
	f := audittest.Start(t)
	if err := f.Plzen.AddVLAN(200, "by-hand", "ge-0/0/3"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Rec.RunEvery(ctx, 20*time.Millisecond, true); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for i := 0; ; i++ {
		// The pass has ended once the gauge says nothing is left.
		if gauge(t, f, "plzen-sw1", api.DriftOrphan) == "0" {
			break
		}
		if i == 200 {
			t.Fatal("no background pass ended")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := on(t, f, "plzen-sw1", 200); len(got) != 0 {
		t.Fatalf("the background pass left orphan vlan 200 on %v", got)
	}
}

// TestDeviceReadsAreSharedAndRateLimited: many viewers reading a switch or
// auditing at once cause one device read, later ones get that reading with
// its age, and only admins read the devices whenever they ask.
func TestDeviceReadsAreSharedAndRateLimited(t *testing.T) {
	f := audittest.Start(t)
	f.Rec.ReadEvery(time.Hour)
	ctx := context.Background()
	view, adm := client.New(f.URL, leasetest.ViewerToken), client.New(f.URL, leasetest.AdminToken)
	// The server's session to praha is open before anything is counted.
	if err := view.Do(ctx, "GET", "/v1/audit?switch=praha-sw1", nil, &api.AuditReport{}); err != nil {
		t.Fatal(err)
	}
	const n = 16
	concurrently := func(path string, out func() any) {
		t.Helper()
		errs := make(chan error, n)
		for range n {
			go func() { errs <- view.Do(ctx, "GET", path, nil, out()) }()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	f.Praha.ResetCommands()
	concurrently("/v1/switches/praha-sw1", func() any { return &api.SwitchVLANs{} })
	shared := len(f.Praha.Commands())
	f.Praha.ResetCommands()
	var fresh api.SwitchVLANs
	if err := adm.Do(ctx, "GET", "/v1/switches/praha-sw1", nil, &fresh); err != nil {
		t.Fatal(err)
	}
	one := len(f.Praha.Commands())
	if one == 0 || shared != one {
		t.Fatalf("%d concurrent viewer reads sent %d commands to the switch; one read sends %d", n, shared, one)
	}
	// Within the interval a viewer gets the last reading, with its age.
	f.Praha.ResetCommands()
	var last api.SwitchVLANs
	if err := view.Do(ctx, "GET", "/v1/switches/praha-sw1?vlan=1", nil, &last); err != nil {
		t.Fatal(err)
	}
	if got := len(f.Praha.Commands()); got != 0 || !last.ReadAt.Equal(fresh.ReadAt) || last.AgeSeconds <= 0 {
		t.Fatalf("a later viewer read: %d commands, read at %s (last reading %s), age %v", got, last.ReadAt, fresh.ReadAt, last.AgeSeconds)
	}
	// An admin reads the device again.
	if err := adm.Do(ctx, "GET", "/v1/switches/praha-sw1", nil, &fresh); err != nil || fresh.AgeSeconds >= 1 {
		t.Fatalf("admin read: %+v %v", fresh, err)
	}
	if got := len(f.Praha.Commands()); got != one {
		t.Fatalf("an admin read sent %d commands; one read sends %d", got, one)
	}
	// Audits too: one pass for every viewer asking at once.
	f.Praha.ResetCommands()
	concurrently("/v1/audit", func() any { return &api.AuditReport{} })
	if got := len(f.Praha.Commands()); got != one {
		t.Fatalf("%d concurrent viewer audits sent %d commands to praha; one pass sends %d", n, got, one)
	}
}
