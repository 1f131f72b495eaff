package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/leasesrv/ui"
)

// noRedirect reads each answer as it comes.
func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestSignInKeepsTheTokenOutOfTheBrowser(t *testing.T) {
	srv := leasetest.Start(t, leasetest.Options{})
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)

	resp, _ := get(t, c, srv.URL+"/")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("/ answers %d to %q, want a redirect to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := get(t, c, srv.URL+"/ui/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="login"`) || strings.Contains(body, `id="status"`) {
		t.Fatalf("/ui/ without a session: %d, want the sign-in form:\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if resp, _ := get(t, c, srv.URL+"/ui/status.json"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status.json without a session: %d, want 401", resp.StatusCode)
	}

	resp, err := c.PostForm(srv.URL+"/ui/login", url.Values{"token": {"not-a-token"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("a wrong token: %d with cookies %v, want 401 and none", resp.StatusCode, resp.Cookies())
	}

	resp, err = c.PostForm(srv.URL+"/ui/login", url.Values{"token": {leasetest.ViewerToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("sign-in: %d to %q, want 303 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	cs := resp.Cookies()
	if len(cs) != 1 {
		t.Fatalf("sign-in set %d cookies, want 1", len(cs))
	}
	ck := cs[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/ui/" || strings.Contains(ck.Value, leasetest.ViewerToken) || len(ck.Value) < 32 {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/ui/, an opaque id", ck)
	}
	resp, body = get(t, c, srv.URL+"/ui/")
	if !strings.Contains(body, `id="status"`) || !strings.Contains(body, "signed in as viewer") {
		t.Fatalf("/ui/ with the session: %d\n%s", resp.StatusCode, body)
	}

	// The poll: JSON, and 304 while nothing changed.
	resp, body = get(t, c, srv.URL+"/ui/status.json")
	var st ui.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.Sites) != 3 {
		t.Fatalf("status.json: %v, %d sites\n%s", err, len(st.Sites), body)
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := get(t, c, srv.URL+"/ui/status.json", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("unchanged status with its ETag: %d, want 304", resp.StatusCode)
	}
	srv.Create("4711.pbs", "skirit82-1")
	if resp, _ := get(t, c, srv.URL+"/ui/status.json", "If-None-Match", etag); resp.StatusCode != http.StatusOK {
		t.Errorf("status after a create with the old ETag: %d, want 200", resp.StatusCode)
	}
	if resp, body := get(t, c, srv.URL+"/ui/history.json?job=4711.pbs"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"action":"create"`) {
		t.Errorf("history: %d %s", resp.StatusCode, body)
	}
	for q, want := range map[string]int{"job=nope.pbs": http.StatusNotFound, "job=": http.StatusBadRequest, "job=%3Cx%3E": http.StatusBadRequest} {
		if resp, body := get(t, c, srv.URL+"/ui/history.json?"+q); resp.StatusCode != want {
			t.Errorf("history?%s: %d %s, want %d", q, resp.StatusCode, body, want)
		}
	}

	resp, err = c.PostForm(srv.URL+"/ui/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp, _ := get(t, c, srv.URL+"/ui/status.json"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status.json after sign-out: %d, want 401", resp.StatusCode)
	}
	// The old session id is dead even when a client keeps sending it.
	old := &http.Client{}
	if resp, _ := get(t, old, srv.URL+"/ui/status.json", "Cookie", ck.Name+"="+ck.Value); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status.json with a signed-out session id: %d, want 401", resp.StatusCode)
	}
}

func TestBearerTokenWorksWithoutASession(t *testing.T) {
	srv := leasetest.Start(t, leasetest.Options{})
	c := &http.Client{}
	for tok, want := range map[string]int{leasetest.ViewerToken: 200, leasetest.NodeToken: 200, leasetest.AdminToken: 200, "wrong": 401} {
		if resp, _ := get(t, c, srv.URL+"/ui/status.json", "Authorization", "Bearer "+tok); resp.StatusCode != want {
			t.Errorf("status.json with bearer %q: %d, want %d", tok, resp.StatusCode, want)
		}
	}
	if _, body := get(t, c, srv.URL+"/ui/", "Authorization", "Bearer "+leasetest.ViewerToken); !strings.Contains(body, "signed in as viewer") {
		t.Errorf("/ui/ with a bearer token shows no status:\n%s", body)
	}
}

func TestStoreDownIsSaidNotHidden(t *testing.T) {
	srv := leasetest.Start(t, leasetest.Options{})
	srv.Redis.Stop()
	c := &http.Client{}
	resp, body := get(t, c, srv.URL+"/ui/", "Authorization", "Bearer "+leasetest.ViewerToken)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "the lease store is unavailable") ||
		strings.Contains(body, `id="login"`) || !strings.Contains(body, `id="logout"`) {
		t.Errorf("/ui/ with the store down: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := get(t, c, srv.URL+"/ui/status.json", "Authorization", "Bearer "+leasetest.ViewerToken); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"store_unavailable"`) {
		t.Errorf("status.json with the store down: %d %s", resp.StatusCode, body)
	}
}
