package leasesrv_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

// FuzzRequestBodies sends arbitrary bodies to every endpoint that reads one:
// the answer is never a 5xx, and every refusal is a JSON error with a code
// and a message.
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		`{"job":"1.pbs","hosts":["skirit82-1"],"ttl_seconds":600,"attributes":{"services":"nfs"}}`,
		`{"job":"1.pbs","hosts":["skirit82-1","skurut9-1"]}`,
		`{"token":1}`, `{"token":1,"ttl_seconds":60}`, `{"token":1,"add_hosts":["konos23-1"]}`,
		`{"job":"a[1].b","hosts":[]}`, `{}`, `[]`, `null`, `{"job":1e400}`, `{"hosts":"x"}`, "\x00",
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
	}
	e := leasetest.Start(f, leasetest.Options{})
	e.Create("live.pbs", "skirit82-1")
	routes := []struct{ method, path string }{
		{"POST", "/v1/leases"}, {"POST", "/v1/leases/live.pbs/commit"}, {"POST", "/v1/leases/live.pbs/renew"},
		{"POST", "/v1/leases/live.pbs/release"}, {"PATCH", "/v1/leases/live.pbs"},
	}
	f.Fuzz(func(t *testing.T, body string, route uint8) {
		r := routes[int(route)%len(routes)]
		req, _ := http.NewRequest(r.method, e.URL+r.path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+leasetest.SchedulerToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s %s %q: %d %s", r.method, r.path, body, resp.StatusCode, b)
		}
		if resp.StatusCode == http.StatusServiceUnavailable && !strings.Contains(string(b), api.CodeNetworkFault) {
			t.Fatalf("%s %s %q: 503 without a network fault: %s", r.method, r.path, body, b)
		}
		if resp.StatusCode >= 400 {
			var eb api.ErrorBody
			if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" || eb.Error.Message == "" {
				t.Fatalf("%s %s %q: refusal without a clear error: %s", r.method, r.path, body, b)
			}
		}
	})
}
