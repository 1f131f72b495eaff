package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/internal/api"
)

// TestUnknownState: a state this client does not know (a newer server's)
// is kept as the server said it, is not live, and WaitActive stops on it
// with an error naming it rather than polling or calling it active.
func TestUnknownState(t *testing.T) {
	const body = `{"job":"7.pbs","state":"paused","reason":"maintenance","vlan":120}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/leases" {
			_, _ = w.Write([]byte("[" + body + "]"))
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	c := New(srv.URL, "")
	ctx := context.Background()

	ls, err := c.List(ctx)
	if err != nil || len(ls) != 1 || ls[0].State != "paused" || ls[0].State.Known() || ls[0].State.Live() {
		t.Fatalf("list: %+v %v, want one lease in state paused, unknown and not live", ls, err)
	}
	l, err := c.WaitActive(ctx, "7.pbs", 1)
	if err == nil || l.State != api.State("paused") || !strings.Contains(err.Error(), "lease 7.pbs is paused (maintenance), not active") {
		t.Fatalf("wait active: %+v %v, want an error naming the state paused", l, err)
	}
	if Code(err) != api.CodeNetworkFault {
		t.Fatalf("wait active: code %q, want %s", Code(err), api.CodeNetworkFault)
	}
}
