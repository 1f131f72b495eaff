package leasesrv

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/leasesrv/store"
)

const testConfig = `
[server]
listen = "127.0.0.1:0"
[lease]
default_ttl = "1h"
max_ttl = "24h"
min_ttl = "1m"
hold_timeout = "2m"
commit_timeout = "5s"
quarantine = "10m"
history_retention = "1h"
[sites.brno]
vlans = ["100-199", "250"]
exclude = ["150"]
[sites.praha]
vlans = ["120-220"]
[sites.plzen]
vlans = ["180-260"]
[hosts.skirit82-1]
site = "brno"
aliases = ["skirit82-1.example.org"]
[hosts.skirit83-1]
site = "brno"
[hosts.skurut9-1]
site = "praha"
[hosts.konos23-1]
site = "plzen"
[[tokens]]
name = "admin"
secret = "admin-secret-0123456789"
role = "admin"
[[tokens]]
name = "sched"
secret = "sched-secret-0123456789"
role = "scheduler"
[[tokens]]
name = "node82"
secret = "node82-secret-012345678"
role = "node"
hosts = ["skirit82-1"]
[[tokens]]
name = "node"
secret = "node-secret-0123456789"
role = "node"
[[tokens]]
name = "viewer"
secret = "viewer-secret-012345678"
role = "viewer"
`

const (
	adminTok  = "admin-secret-0123456789"
	schedTok  = "sched-secret-0123456789"
	node82Tok = "node82-secret-012345678"
	nodeTok   = "node-secret-0123456789"
	viewerTok = "viewer-secret-012345678"
)

// clock is the injected time of the store's scripts.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time            { return time.UnixMilli(c.ms.Load()) }
func (c *clock) advance(d time.Duration)   { c.ms.Add(d.Milliseconds()) }
func newClock() *clock                     { c := &clock{}; c.ms.Store(1_700_000_000_000); return c }
func testLogger(t testing.TB) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// env is one lease server (or several sharing a Redis) under test.
type env struct {
	t     testing.TB
	cfg   *config.Config
	redis *redistest.Server
	rdb   redis.UniversalClient
	clock *clock
	svc   *Service
	url   string
}

func newEnv(t testing.TB, net Network) *env {
	t.Helper()
	return newEnvOn(t, redistest.Start(t), newClock(), net)
}

// newEnvOn starts one more server on an existing Redis and clock.
func newEnvOn(t testing.TB, rs *redistest.Server, clk *clock, net Network) *env {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := store.Open(config.Redis{URL: rs.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	st := store.New(rdb)
	st.Now = clk.now
	ctx, cancel := context.WithCancel(context.Background())
	svc := NewService(ctx, cfg, st, net, testLogger(t))
	t.Cleanup(func() { cancel(); svc.Wait() })
	if err := svc.SyncPools(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(svc.Handler())
	t.Cleanup(hs.Close)
	return &env{t: t, cfg: cfg, redis: rs, rdb: rdb, clock: clk, svc: svc, url: hs.URL}
}

func (e *env) client(token string) *client.Client { return client.New(e.url, token) }

func (e *env) create(job string, hosts ...string) *api.Lease {
	e.t.Helper()
	l, _, err := e.client(schedTok).Create(context.Background(), client.CreateRequest{Job: job, Owner: "alice", Hosts: hosts})
	if err != nil {
		e.t.Fatalf("create %s: %v", job, err)
	}
	return l
}

func (e *env) activate(job string, hosts ...string) *api.Lease {
	e.t.Helper()
	l := e.create(job, hosts...)
	l, err := e.client(schedTok).WaitActive(context.Background(), job, l.Token)
	if err != nil {
		e.t.Fatalf("commit %s: %v", job, err)
	}
	return l
}

func (e *env) get(job string) *api.Lease {
	e.t.Helper()
	l, err := e.svc.Store().Get(context.Background(), job)
	if err != nil {
		e.t.Fatalf("get %s: %v", job, err)
	}
	return l
}

func (e *env) reap() {
	e.t.Helper()
	if _, err := e.svc.Reap(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.svc.Wait()
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := client.Code(err); got != code {
		t.Fatalf("want error %s, got %v", code, err)
	}
}

// countingNetwork records what the lease server asked of the network; it
// stands in for the switches, which these tests are not about.
type countingNetwork struct {
	mu        sync.Mutex
	applied   map[string]int
	torn      map[string]int
	failApply error
}

func newCountingNetwork() *countingNetwork {
	return &countingNetwork{applied: map[string]int{}, torn: map[string]int{}}
}

func (n *countingNetwork) Apply(_ context.Context, l *api.Lease) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failApply != nil {
		return n.failApply
	}
	n.applied[l.Job]++
	return nil
}

func (n *countingNetwork) Teardown(_ context.Context, l *api.Lease) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.torn[l.Job]++
	return nil
}
