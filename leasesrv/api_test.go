package leasesrv_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

func rawRequest(t *testing.T, e *leasetest.Server, method, path, token, body string) (int, api.ErrorDetail) {
	t.Helper()
	req, _ := http.NewRequest(method, e.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb api.ErrorBody
	json.Unmarshal(b, &eb)
	return resp.StatusCode, eb.Error
}

func TestAPIErrorPaths(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	live := e.Create("live.pbs", "skirit82-1")
	tok := live.Token
	cases := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"no token", "GET", "/v1/leases", "", "", 401, api.CodeUnauthorized},
		{"wrong token", "GET", "/v1/leases", "not-a-token-at-all-xx", "", 401, api.CodeUnauthorized},
		{"viewer writes", "POST", "/v1/leases", leasetest.ViewerToken, `{"job":"1","hosts":["skirit82-1"]}`, 403, api.CodeForbidden},
		{"node forces", "DELETE", "/v1/leases/live.pbs?force=true", leasetest.NodeToken, "", 403, api.CodeForbidden},
		{"unknown field", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1","hosts":["skirit82-1"],"vlan":5}`, 400, api.CodeBadRequest},
		{"not json", "POST", "/v1/leases", leasetest.SchedulerToken, `job=1`, 400, api.CodeBadRequest},
		{"empty body", "POST", "/v1/leases", leasetest.SchedulerToken, ``, 400, api.CodeBadRequest},
		{"trailing data", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1","hosts":["skirit82-1"]} {}`, 400, api.CodeBadRequest},
		{"wrong type", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":1,"hosts":["skirit82-1"]}`, 400, api.CodeBadRequest},
		{"bad job charset", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1; rm -rf /","hosts":["skirit82-1"]}`, 400, api.CodeBadRequest},
		{"job too long", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"` + strings.Repeat("9", 129) + `","hosts":["skirit82-1"]}`, 400, api.CodeBadRequest},
		{"no hosts", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1"}`, 400, api.CodeBadRequest},
		{"unknown host", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1","hosts":["nowhere"]}`, 400, api.CodeBadRequest},
		{"ttl too long", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1","hosts":["skirit82-1"],"ttl_seconds":999999999}`, 400, api.CodeBadRequest},
		{"ttl too short", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1","hosts":["skirit82-1"],"ttl_seconds":5}`, 400, api.CodeBadRequest},
		{"negative ttl", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1","hosts":["skirit82-1"],"ttl_seconds":-1}`, 400, api.CodeBadRequest},
		{"unknown attribute", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1","hosts":["skirit82-1"],"attributes":{"vlan":"5"}}`, 400, api.CodeBadRequest},
		{"direct publish of a user image", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1","hosts":["skirit82-1"],"attributes":{"publish":"direct","image":"mine"}}`, 400, api.CodeBadRequest},
		{"too large", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1","owner":"` + strings.Repeat("a", 70000) + `"}`, 413, api.CodeTooLarge},
		{"no such lease", "GET", "/v1/leases/404.pbs", leasetest.ViewerToken, "", 404, api.CodeNotFound},
		{"bad job in path", "GET", "/v1/leases/a%20b", leasetest.ViewerToken, "", 400, api.CodeBadRequest},
		{"commit no such lease", "POST", "/v1/leases/404.pbs/commit", leasetest.SchedulerToken, `{"token":1}`, 404, api.CodeNotFound},
		{"stale token", "POST", "/v1/leases/live.pbs/commit", leasetest.SchedulerToken, `{"token":999999}`, 409, api.CodeStaleToken},
		{"renew without ttl", "POST", "/v1/leases/live.pbs/renew", leasetest.SchedulerToken, `{"token":1}`, 400, api.CodeBadRequest},
		{"delete without force", "DELETE", "/v1/leases/live.pbs", leasetest.AdminToken, "", 400, api.CodeBadRequest},
		{"patch nothing", "PATCH", "/v1/leases/live.pbs", leasetest.SchedulerToken, `{"token":1}`, 400, api.CodeBadRequest},
		{"conflict", "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"live.pbs","hosts":["skurut9-1"]}`, 409, api.CodeConflict},
		{"no endpoint", "GET", "/v2/leases", leasetest.SchedulerToken, "", 404, api.CodeNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, detail := rawRequest(t, e, c.method, c.path, c.token, c.body)
			if status != c.status || detail.Code != c.code || detail.Message == "" {
				t.Fatalf("got %d %+v, want %d %s", status, detail, c.status, c.code)
			}
		})
	}
	// Nothing above changed anything.
	ls, err := e.Client(leasetest.ViewerToken).List(context.Background())
	if err != nil || len(ls) != 1 || ls[0].Token != tok || ls[0].State != api.StateHeld {
		t.Fatalf("bad requests changed state: %+v %v", ls, err)
	}
}

// TestBearerSchemeIsCaseInsensitive: RFC 7235 makes the scheme
// case-insensitive, with one or more spaces before the credentials.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	for h, want := range map[string]int{
		"Bearer " + leasetest.ViewerToken:  200,
		"bearer " + leasetest.ViewerToken:  200,
		"BEARER  " + leasetest.ViewerToken: 200,
		"Basic " + leasetest.ViewerToken:   401,
		"Bearer":                           401,
		"Bearer ":                          401,
		leasetest.ViewerToken:              401,
	} {
		req, _ := http.NewRequest("GET", e.URL+"/v1/leases", nil)
		req.Header.Set("Authorization", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization %q: %d, want %d", h, resp.StatusCode, want)
		}
	}
}

// TestControlCharactersAreRefused: free-text fields refuse anything not
// printable with a 400 naming the field, and nothing is granted.
func TestControlCharactersAreRefused(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	for _, bad := range []string{"evil\x1b]0;pwned\x07", "\x1b[2J", "bell\a", "del\x7f", "csi\u009b31m", "rtl\u202eexe.txt", "tab\there", "nul\x00"} {
		for field, req := range map[string]api.CreateRequest{
			"owner":           {Job: "1.pbs", Hosts: []string{"skirit82-1"}, Owner: bad},
			"attributes.name": {Job: "1.pbs", Hosts: []string{"skirit82-1"}, Attributes: map[string]string{"name": bad}},
		} {
			body, _ := json.Marshal(req)
			status, detail := rawRequest(t, e, "POST", "/v1/leases", leasetest.SchedulerToken, string(body))
			if status != 400 || detail.Code != api.CodeBadRequest || !strings.HasPrefix(detail.Message, field+": ") {
				t.Errorf("%s %q: %d %+v, want 400 naming %s", field, bad, status, detail, field)
			}
		}
	}
	if ls, err := e.Client(leasetest.ViewerToken).List(context.Background()); err != nil || len(ls) != 0 {
		t.Fatalf("refused requests granted leases: %+v %v", ls, err)
	}
	// Printable text beyond ASCII is fine.
	l, _, err := e.Client(leasetest.SchedulerToken).Create(context.Background(), api.CreateRequest{Job: "2.pbs", Hosts: []string{"skirit82-1"},
		Owner: "Jiří Novák", Attributes: map[string]string{"name": "výpočet 1"}})
	if err != nil || l.Owner != "Jiří Novák" {
		t.Fatalf("printable owner refused: %+v %v", l, err)
	}
}

func TestAcceptedJobIDs(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	for _, job := range []string{"123.pbs-server.example.org", "123[4].server", "123[].server", "1234_5", "1234+0", "77"} {
		if l := e.Create(job, "skirit82-1"); l.Job != job {
			t.Fatalf("job %q came back as %q", job, l.Job)
		}
		if _, err := e.Client(leasetest.ViewerToken).Get(context.Background(), job); err != nil {
			t.Fatalf("get %q: %v", job, err)
		}
	}
}

func TestStoreDownAnswers503(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	e.Redis.Stop()
	status, detail := rawRequest(t, e, "POST", "/v1/leases", leasetest.SchedulerToken, `{"job":"1","hosts":["skirit82-1"]}`)
	if status != 503 || detail.Code != api.CodeUnavailable {
		t.Fatalf("got %d %+v", status, detail)
	}
	status, detail = rawRequest(t, e, "GET", "/healthz", "", "")
	if status != 503 {
		t.Fatalf("healthz with Redis down: %d %+v", status, detail)
	}
}

func TestMetricsAreExported(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	e.Create("1.pbs", "skirit82-1")
	resp, err := http.Get(e.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `virtcloud_lease_operations_total{op="create",result="ok"} 1`) {
		t.Fatalf("metrics lack the create counter:\n%s", b)
	}
}
