// Package leasetest runs a real lease server for tests: a private
// redis-server, the service with an injected clock, and its HTTP API on
// loopback.
package leasetest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/leasesrv"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// Config is a three-site configuration with a token of every role.
const Config = `
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

// Tokens of Config, by role.
const (
	AdminToken     = "admin-secret-0123456789"
	SchedulerToken = "sched-secret-0123456789"
	Node82Token    = "node82-secret-012345678" // bound to skirit82-1
	NodeToken      = "node-secret-0123456789"
	ViewerToken    = "viewer-secret-012345678"
)

// Clock is the injected time of the store's scripts.
type Clock struct{ ms atomic.Int64 }

// Now reads the clock.
func (c *Clock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// NewClock starts a clock at a fixed time.
func NewClock() *Clock { c := &Clock{}; c.ms.Store(1_700_000_000_000); return c }

// Server is one lease server (or one of several sharing a Redis) under test.
type Server struct {
	t     testing.TB
	Cfg   *config.Config
	Redis *redistest.Server
	RDB   redis.UniversalClient
	Clock *Clock // nil: the Redis server's clock
	Svc   *leasesrv.Service
	Net   leasesrv.Network
	// Fleet is the configured switches' drivers, which Net (unless the test
	// gave its own) and a reconciler share.
	Fleet *switchdrv.Fleet
	URL   string
}

// Options say what to start; zero values give Config, a new Redis, an
// injected clock and no switches.
type Options struct {
	Config  string
	Network leasesrv.Network // default: the switches of Config
	Redis   *redistest.Server
	// RedisConfig, when set, is used instead of a private redis-server
	// (a Sentinel group or a Cluster the test started).
	RedisConfig *config.Redis
	Clock       *Clock
	RealClock   bool
	Log         io.Writer // the server's log; default discarded
	// Witness, when set, gives the service its reader of the switches
	// before the first SyncPools, as leasesrv serve does.
	Witness func(cfg *config.Config, st *store.Store, fleet *switchdrv.Fleet) leasesrv.SwitchReader
}

// Start runs a lease server for the test.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Config == "" {
		o.Config = Config
	}
	rc := o.RedisConfig
	if rc == nil {
		if o.Redis == nil {
			o.Redis = redistest.Start(t)
		}
		rc = &config.Redis{URL: o.Redis.URL}
	}
	if o.Clock == nil && !o.RealClock {
		o.Clock = NewClock()
	}
	cfg, err := config.Parse("test.toml", []byte(o.Config))
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := store.Open(*rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() }) // the test is over
	p := store.PolicyOf(cfg)
	p.WaitReplicas, p.WaitTimeout = rc.WaitReplicas, rc.WaitTimeout.Duration
	if o.Clock != nil {
		p.Now = o.Clock.Now
	}
	st := store.New(rdb, p)
	if o.Log == nil {
		o.Log = io.Discard
	}
	log := slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fleet := switchdrv.NewFleet(cfg, log)
	t.Cleanup(fleet.Close)
	if o.Network == nil {
		o.Network = leasesrv.NewNetwork(cfg, st, fleet, log)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc := leasesrv.NewService(ctx, cfg, st, o.Network, log)
	t.Cleanup(func() { cancel(); svc.Wait() })
	if o.Witness != nil {
		svc.SetSwitchReader(o.Witness(cfg, st, fleet))
	}
	if err := svc.SyncPools(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(svc.Handler())
	t.Cleanup(hs.Close)
	return &Server{t: t, Cfg: cfg, Redis: o.Redis, RDB: rdb, Clock: o.Clock, Svc: svc, Net: o.Network, Fleet: fleet, URL: hs.URL}
}

// Client is an API client with a token.
func (e *Server) Client(token string) *client.Client { return client.New(e.URL, token) }

// Create grants a lease as the scheduler, failing the test on error.
func (e *Server) Create(job string, hosts ...string) *api.Lease {
	e.t.Helper()
	l, _, err := e.Client(SchedulerToken).Create(context.Background(), client.CreateRequest{Job: job, Owner: "alice", Hosts: hosts})
	if err != nil {
		e.t.Fatalf("create %s: %v", job, err)
	}
	return l
}

// Activate creates and commits a lease.
func (e *Server) Activate(job string, hosts ...string) *api.Lease {
	e.t.Helper()
	l := e.Create(job, hosts...)
	l, err := e.Client(SchedulerToken).WaitActive(context.Background(), job, l.Token)
	if err != nil {
		e.t.Fatalf("commit %s: %v", job, err)
	}
	return l
}

// Get reads a lease straight from the store.
func (e *Server) Get(job string) *api.Lease {
	e.t.Helper()
	l, err := e.Svc.Store().Get(context.Background(), job)
	if err != nil {
		e.t.Fatalf("get %s: %v", job, err)
	}
	return l
}

// Reap runs one reaper pass and waits for its workers.
func (e *Server) Reap() {
	e.t.Helper()
	if _, err := e.Svc.Reap(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.Svc.Wait()
}

// WantCode fails the test unless err is an API error with this code.
func WantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := client.Code(err); got != code {
		t.Fatalf("want error %s, got %v", code, err)
	}
}
