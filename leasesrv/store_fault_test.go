package leasesrv_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

// A hung Redis (SIGSTOP: sockets open, no answers) gets fast 503s on every
// route, well within the hooks' budget, and /healthz within its own 2 s.
func TestHungRedisAnswersFast503(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	e.Create("1.pbs", "skirit82-1")
	e.Redis.Pause(t)
	for _, c := range []struct{ method, path, token, body string }{
		{"POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"2.pbs","hosts":["skirit82-1"]}`},
		{"GET", "/v1/leases/1.pbs", leasetest.ViewerToken, ""},
		{"GET", "/v1/leases", leasetest.ViewerToken, ""},
		{"GET", "/v1/pools", leasetest.ViewerToken, ""},
		{"GET", "/healthz", "", ""},
	} {
		start := time.Now()
		status, detail := rawRequest(t, e, c.method, c.path, c.token, c.body)
		took := time.Since(start)
		if status != 503 || detail.Code != api.CodeUnavailable {
			t.Errorf("%s %s with Redis stopped: %d %+v", c.method, c.path, status, detail)
		}
		// The store's deadline is 1 s; 2 s is /healthz's own budget.
		if took > 2*time.Second {
			t.Errorf("%s %s with Redis stopped took %v; want the store's 1 s deadline", c.method, c.path, took)
		}
	}
}

// A server restarted after its Redis came back empty remembers the store in
// server.state_file and refuses grants from its first moment.
func TestRestartOnEmptiedRedisIsNoticed(t *testing.T) {
	cfg := strings.Replace(leasetest.Config, "[server]\n", fmt.Sprintf("[server]\nstate_file = %q\n", filepath.Join(t.TempDir(), "leasesrv.state")), 1)
	first := leasetest.Start(t, leasetest.Options{Config: cfg})
	first.Create("1.pbs", "skirit82-1")
	first.Reap()
	if err := first.RDB.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	second := leasetest.Start(t, leasetest.Options{Config: cfg, Redis: first.Redis})
	status, detail := rawRequest(t, second, "GET", "/healthz", "", "")
	if status != 503 || detail.Code != api.CodeStoreLost || !strings.Contains(detail.Message, "identity changed") {
		t.Fatalf("healthz of a server started on an emptied Redis: %d %+v", status, detail)
	}
	status, detail = rawRequest(t, second, "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"2.pbs","hosts":["skirit82-1"]}`)
	if status != 503 || detail.Code != api.CodeStoreLost {
		t.Fatalf("create on an emptied Redis: %d %+v", status, detail)
	}
}
