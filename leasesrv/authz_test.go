package leasesrv_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

// TestEveryRoleAgainstEveryEndpoint: who may call what. A request that gets
// past authorisation may still fail for other reasons (404, 409); only 401
// and 403 are about the caller.
func TestEveryRoleAgainstEveryEndpoint(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	mine := e.Create("mine.pbs", "skirit82-1")    // a lease on the bound node's host
	theirs := e.Create("theirs.pbs", "skurut9-1") // a lease of other hosts
	tokens := map[string]string{
		"admin": leasetest.AdminToken, "scheduler": leasetest.SchedulerToken, "node": leasetest.NodeToken,
		"node-bound": leasetest.Node82Token, "viewer": leasetest.ViewerToken, "none": "", "wrong": "wrong-token-0123456789",
	}
	type call struct{ method, path, body string }
	calls := map[string]call{
		"list":          {"GET", "/v1/leases", ""},
		"get":           {"GET", "/v1/leases/theirs.pbs", ""},
		"history":       {"GET", "/v1/leases/theirs.pbs/history", ""},
		"pools":         {"GET", "/v1/pools", ""},
		"create-own":    {"POST", "/v1/leases", `{"job":"new.pbs","hosts":["skirit82-1"]}`},
		"create-other":  {"POST", "/v1/leases", `{"job":"new2.pbs","hosts":["skurut9-1"]}`},
		"commit-own":    {"POST", "/v1/leases/mine.pbs/commit", fmt.Sprintf(`{"token":%d}`, mine.Token)},
		"renew-other":   {"POST", "/v1/leases/theirs.pbs/renew", fmt.Sprintf(`{"token":%d,"ttl_seconds":600}`, theirs.Token)},
		"patch-other":   {"PATCH", "/v1/leases/theirs.pbs", fmt.Sprintf(`{"token":%d,"add_hosts":["skurut9-1"]}`, theirs.Token)},
		"release-other": {"POST", "/v1/leases/theirs.pbs/release", `{"token":1}`},
		"force":         {"DELETE", "/v1/leases/nope.pbs?force=true", ""},
	}
	// expected: "ok" (past authorisation), 401 or 403.
	allowAll := map[string]string{"admin": "ok", "scheduler": "ok", "node": "ok", "node-bound": "ok", "viewer": "ok", "none": "401", "wrong": "401"}
	write := map[string]string{"admin": "ok", "scheduler": "ok", "node": "ok", "node-bound": "ok", "viewer": "403", "none": "401", "wrong": "401"}
	writeOther := map[string]string{"admin": "ok", "scheduler": "ok", "node": "ok", "node-bound": "403", "viewer": "403", "none": "401", "wrong": "401"}
	force := map[string]string{"admin": "ok", "scheduler": "403", "node": "403", "node-bound": "403", "viewer": "403", "none": "401", "wrong": "401"}
	want := map[string]map[string]string{
		"list": allowAll, "get": allowAll, "history": allowAll, "pools": allowAll,
		"create-own": write, "commit-own": write,
		"create-other": writeOther, "renew-other": writeOther, "patch-other": writeOther, "release-other": writeOther,
		"force": force,
	}
	for name, c := range calls {
		for role, tok := range tokens {
			t.Run(name+"/"+role, func(t *testing.T) {
				req, _ := http.NewRequest(c.method, e.URL+c.path, strings.NewReader(c.body))
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				got := "ok"
				if resp.StatusCode == 401 || resp.StatusCode == 403 {
					got = fmt.Sprint(resp.StatusCode)
				}
				if resp.StatusCode >= 500 {
					t.Fatalf("%s %s as %s: %d", c.method, c.path, role, resp.StatusCode)
				}
				if got != want[name][role] {
					t.Fatalf("%s %s as %s: got %s (%d), want %s", c.method, c.path, role, got, resp.StatusCode, want[name][role])
				}
			})
		}
	}
}
