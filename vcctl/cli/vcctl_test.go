package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/leasesrv/store"
)

func run(t *testing.T, srv *leasetest.Server, token string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"vcctl", "--server", srv.URL, "--token", token}, args...)
	code := Main(full, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestLeaseLifeThroughVcctl(t *testing.T) {
	srv := leasetest.Start(t, leasetest.Options{})
	adm := leasetest.AdminToken
	code, out, errOut := run(t, srv, adm, "lease", "create", "--job", "42.pbs", "--owner", "alice", "--host", "skirit82-1", "--host", "skurut9-1", "--ttl", "2h")
	if code != 0 || !strings.Contains(out, "state:          held") {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	if code, out, _ = run(t, srv, adm, "lease", "commit", "42.pbs"); code != 0 || !strings.Contains(out, "active") {
		t.Fatalf("commit: %d %q", code, out)
	}
	code, out, _ = run(t, srv, adm, "--output", "json", "lease", "show", "42.pbs")
	var l api.Lease
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || l.State != api.StateActive || len(l.Sites) != 2 {
		t.Fatalf("show json: %d %q", code, out)
	}
	if code, out, _ = run(t, srv, adm, "lease", "renew", "42.pbs", "--ttl", "3h"); code != 0 {
		t.Fatalf("renew with the flag after the job: %d %q", code, out)
	}
	code, out, _ = run(t, srv, adm, "lease", "patch", "42.pbs", "--add", "skirit83-1", "--remove", "skurut9-1")
	if code != 0 || !strings.Contains(out, "skirit82-1, skirit83-1") || !strings.Contains(out, "sites:          brno\n") {
		t.Fatalf("patch: %d %q", code, out)
	}
	if code, out, _ = run(t, srv, adm, "lease", "ls"); code != 0 || !strings.Contains(out, "42.pbs") || !strings.HasPrefix(out, "JOB") {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, out, _ = run(t, srv, adm, "pool", "show"); code != 0 || !strings.Contains(out, "brno") {
		t.Fatalf("pool show: %d %q", code, out)
	}
	if code, out, _ = run(t, srv, adm, "lease", "release", "42.pbs"); code != 0 || !strings.Contains(out, "released") {
		t.Fatalf("release: %d %q", code, out)
	}
	if code, out, _ = run(t, srv, adm, "lease", "show", "42.pbs", "--history"); code != 0 || !strings.Contains(out, "release  released") {
		t.Fatalf("history: %d %q", code, out)
	}
	srv.Create("43.pbs", "skirit82-1")
	if code, out, _ = run(t, srv, adm, "lease", "rm", "--force", "43.pbs"); code != 0 || !strings.Contains(out, "forced") {
		t.Fatalf("force: %d %q", code, out)
	}
}

func TestVcctlErrorsAreOneLineWithTheirExitCode(t *testing.T) {
	srv := leasetest.Start(t, leasetest.Options{})
	cases := []struct {
		name  string
		token string
		args  []string
		code  int
		msg   string
	}{
		{"not found", leasetest.ViewerToken, []string{"lease", "show", "nope.pbs"}, ExitNotFound, "no such lease"},
		{"refused", leasetest.ViewerToken, []string{"lease", "create", "--job", "1", "--host", "skirit82-1"}, ExitFailure, "may not do this"},
		{"no job", leasetest.AdminToken, []string{"lease", "show"}, ExitUsage, "needs exactly one JOB"},
		{"missing flag", leasetest.AdminToken, []string{"lease", "create", "--job", "1"}, ExitUsage, "create needs --host"},
		{"bad output", leasetest.AdminToken, []string{"--output", "yaml", "lease", "ls"}, ExitUsage, "--output must be table or json"},
		{"negative timeout", leasetest.AdminToken, []string{"--timeout", "-1s", "lease", "ls"}, ExitUsage, "--timeout must be positive, not -1s"},
		{"zero timeout", leasetest.AdminToken, []string{"--timeout", "0s", "lease", "ls"}, ExitUsage, "--timeout must be positive"},
		{"bad attr", leasetest.AdminToken, []string{"lease", "create", "--job", "1", "--host", "skirit82-1", "--attr", "x"}, ExitUsage, "use KEY=VALUE"},
		{"patch without hosts", leasetest.AdminToken, []string{"lease", "patch", "1.pbs"}, ExitUsage, "needs --add HOST or --remove HOST"},
		{"pool exhausted or bad host", leasetest.AdminToken, []string{"lease", "create", "--job", "1", "--host", "mars"}, ExitFailure, `unknown host "mars"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := run(t, srv, c.token, c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("got %d %q, want %d and %q on one line", code, errOut, c.code, c.msg)
			}
		})
	}
	var out, errOut bytes.Buffer
	code := Main([]string{"vcctl", "--server", "http://127.0.0.1:1", "--token", "x", "lease", "ls"}, &out, &errOut)
	if code != ExitUnreachable || !strings.HasPrefix(errOut.String(), "vcctl: ") {
		t.Fatalf("unreachable: %d %q", code, errOut.String())
	}
}

// TestServerPasswordIsNotEchoed: userinfo in --server never reaches an error.
func TestServerPasswordIsNotEchoed(t *testing.T) {
	srv := leasetest.Start(t, leasetest.Options{})
	const password = "Pw0rd-s3cret"
	withUser := strings.Replace(srv.URL, "http://", "http://u:"+password+"@", 1)
	for server, code := range map[string]int{
		"http://u:" + password + "@127.0.0.1:1":     ExitUnreachable,
		"http://u:" + password + "@127.0.0.1:7x480": ExitUsage,
		"http://u:" + password + "%zz@127.0.0.1:1":  ExitUsage,
		"ftp://u:" + password + "@127.0.0.1:1":      ExitUsage,
		withUser:                                    ExitNotFound,
	} {
		var out, errOut bytes.Buffer
		got := Main([]string{"vcctl", "--server", server, "--token", leasetest.ViewerToken, "lease", "show", "nope.pbs"}, &out, &errOut)
		if got != code || strings.Contains(errOut.String(), password) || !strings.HasPrefix(errOut.String(), "vcctl: ") {
			t.Errorf("--server %s: %d %q, want %d without the password", server, got, errOut.String(), code)
		}
	}
}

// TestTablesEscapeWhatIsNotPrintable: a lease stored before the API refused
// control characters (or written behind its back) is listed with them
// escaped, never sent raw to the terminal.
func TestTablesEscapeWhatIsNotPrintable(t *testing.T) {
	srv := leasetest.Start(t, leasetest.Options{})
	const owner = "evil\x1b]0;pwned\a\x1b[2J"
	_, _, err := srv.Svc.Store().Create(context.Background(), store.Grant{Job: "9.pbs", Owner: owner, Hosts: []string{"skirit82-1"},
		Sites: []string{"brno"}, TTL: time.Hour, Attributes: map[string]string{"name": "a\tb\u202e"}, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"lease", "ls"}, {"lease", "show", "9.pbs", "--history"}} {
		code, out, errOut := run(t, srv, leasetest.ViewerToken, args...)
		if code != 0 || strings.ContainsAny(out, "\x1b\a\u202e") || !strings.Contains(out, strconv.Quote(owner)) {
			t.Fatalf("%v: %d %q %q, want the owner as %s", args, code, out, errOut, strconv.Quote(owner))
		}
		if args[1] == "show" && !strings.Contains(out, `"a\tb\u202e"`) {
			t.Fatalf("attribute not escaped: %q", out)
		}
	}
}
