// Package leasesrv is the lease server (the seed's SBF): it grants each
// cluster job one VLAN free at every site the job spans, has the network
// configured for it, and takes it all back when the job ends, when its
// walltime runs out, or when an administrator forces it. Leases live in Redis
// (package store); switches are reached through a Network.
package leasesrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/leasesrv/plan"
	"github.com/virtcloud/virtcloud/leasesrv/store"
)

// Network configures and removes what a lease needs on the devices. Every
// call is idempotent, so a retry or a replay after a crash is harmless.
type Network interface {
	// Apply configures the lease's plan, all or nothing: on failure it has
	// undone its own steps before it returns.
	Apply(ctx context.Context, l *api.Lease) error
	// Teardown removes the lease's whole plan; it fails until every device
	// answered, and the caller retries.
	Teardown(ctx context.Context, l *api.Lease) error
	// Move takes a live lease's devices from one plan (from, as the devices
	// carried it) to the next, fenced by to's migration number.
	Move(ctx context.Context, from, to *api.Lease) error
	// Resume makes the devices carry the lease's plan and drop its residue:
	// the end of a migration that a crash or a failure left unfinished.
	Resume(ctx context.Context, l *api.Lease) error
	// Needed reports whether anything must be configured for the lease; a
	// lease that needs nothing is committed and released by the store alone.
	Needed(l *api.Lease) bool
}

// NoNetwork is the network of a site whose hosts are all pre-provisioned: a
// lease only reserves its VLAN.
type NoNetwork struct{}

func (NoNetwork) Apply(context.Context, *api.Lease) error            { return nil }
func (NoNetwork) Teardown(context.Context, *api.Lease) error         { return nil }
func (NoNetwork) Move(context.Context, *api.Lease, *api.Lease) error { return nil }
func (NoNetwork) Resume(context.Context, *api.Lease) error           { return nil }
func (NoNetwork) Needed(*api.Lease) bool                             { return false }

// Service is the lease logic between the HTTP API and the store.
type Service struct {
	cfg     *config.Config
	st      *store.Store
	net     Network
	log     *slog.Logger
	metrics *metrics
	watch   storeWatch
	// readSwitches reads the switches' VLAN tables for a store recovery.
	readSwitches SwitchReader

	mu      sync.Mutex
	working map[string]chan struct{} // job -> closed when this process's worker ends
	wg      sync.WaitGroup
	stop    context.Context
}

// NewService ties the pieces together. stop ends background workers.
func NewService(stop context.Context, cfg *config.Config, st *store.Store, net Network, log *slog.Logger) *Service {
	if net == nil {
		net = NoNetwork{}
	}
	return &Service{cfg: cfg, st: st, net: net, log: log, metrics: newMetrics(), working: map[string]chan struct{}{}, stop: stop}
}

// Store is the service's store.
func (s *Service) Store() *store.Store { return s.st }

// Wait blocks until every background worker of this process has ended.
func (s *Service) Wait() { s.wg.Wait() }

// SyncPools writes the configured pools of sites and cores into the store, and gives every
// live lease granted before L2 cores were modelled its core reservation.
func (s *Service) SyncPools(ctx context.Context) error {
	if err := s.initIdentity(ctx); err != nil {
		return fmt.Errorf("store identity: %w", err)
	}
	if _, err := s.CheckStore(ctx); err != nil {
		return fmt.Errorf("store identity: %w", err)
	}
	for site := range s.cfg.Sites {
		if err := s.st.SyncPool(ctx, site, s.cfg.SitePool(site)); err != nil {
			return fmt.Errorf("sync pool of site %s: %w", site, err)
		}
	}
	for core, sites := range s.cfg.Cores() {
		var pool []int
		for _, site := range sites {
			pool = append(pool, s.cfg.SitePool(site)...)
		}
		slices.Sort(pool)
		if err := s.st.SyncCore(ctx, core, slices.Compact(pool)); err != nil {
			return fmt.Errorf("sync pool of core %s: %w", core, err)
		}
	}
	leases, err := s.st.List(ctx)
	if err != nil {
		return fmt.Errorf("read leases: %w", err)
	}
	for _, l := range leases {
		site := s.cfg.Sites[l.Sites[0]]
		if !l.State.Live() || l.Core != "" || site == nil {
			continue
		}
		other, err := s.st.Adopt(ctx, l.Job, site.Core)
		if err != nil {
			return fmt.Errorf("lease %s: reserve its VLAN on core %s: %w", l.Job, site.Core, err)
		}
		if other != "" {
			s.log.Error("two leases share one L2 network: both were granted before L2 cores were modelled; release one of them",
				"job", l.Job, "other", other, "vlan", l.VLAN, "core", site.Core)
		}
	}
	return nil
}

// InputError is a request the server refuses as malformed (HTTP 400).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func badInput(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// resolveHosts turns names as the schedulers write them into [hosts] names,
// sorted and distinct.
func (s *Service) resolveHosts(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, badInput("hosts: at least one host is needed")
	}
	if len(names) > 4096 {
		return nil, badInput("hosts: %d hosts; at most 4096", len(names))
	}
	hosts := make([]string, 0, len(names))
	for _, n := range names {
		h := s.cfg.HostName(n)
		if h == "" {
			return nil, badInput("hosts: unknown host %q", n)
		}
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	return slices.Compact(hosts), nil
}

// Attribute keys a cluster request may carry (the hooks' request string).
var attributeKeys = []string{"services", "image", "publish", "name"}

func (s *Service) checkAttributes(attrs map[string]string) error {
	for k, v := range attrs {
		if !slices.Contains(attributeKeys, k) {
			return badInput("attributes: unknown attribute %q (known: %s)", k, strings.Join(attributeKeys, ", "))
		}
		if err := api.CheckText(v, 128); err != nil {
			return badInput("attributes.%s: %v", k, err)
		}
	}
	if sv := attrs["services"]; sv != "" {
		for _, name := range strings.Split(sv, "+") {
			if s.cfg.Services[name] == nil {
				return badInput("attributes.services: unknown service %q", name)
			}
		}
	}
	switch p := attrs["publish"]; p {
	case "", "none", "tunnel":
	case "direct":
		if !slices.Contains(s.cfg.Publish.CertifiedImages, attrs["image"]) {
			return badInput("attributes.publish: direct publishing needs a certified image; %q is not on the administrators' list, so publish through a tunnel", attrs["image"])
		}
	default:
		return badInput("attributes.publish: %q is not none, tunnel or direct", p)
	}
	return nil
}

// Create grants a lease to a job or returns the live one it has.
func (s *Service) Create(ctx context.Context, r api.CreateRequest, actor string) (*api.Lease, bool, error) {
	if err := api.CheckJob(r.Job); err != nil {
		return nil, false, badInput("job: %v", err)
	}
	if err := api.CheckText(r.Owner, 64); err != nil {
		return nil, false, badInput("owner: %v", err)
	}
	hosts, err := s.resolveHosts(r.Hosts)
	if err != nil {
		return nil, false, err
	}
	ttl, err := s.ttl(r.TTLSeconds)
	if err != nil {
		return nil, false, err
	}
	if err := s.checkAttributes(r.Attributes); err != nil {
		return nil, false, err
	}
	if err := s.lostError(); err != nil {
		return nil, false, err
	}
	reach, err := plan.ReachOf(s.cfg, hosts, r.Attributes)
	if err != nil {
		return nil, false, badInput("hosts: %v", err)
	}
	needed := s.net.Needed(&api.Lease{Job: r.Job, Hosts: hosts, Sites: reach.Sites, Core: reach.Core, Attributes: r.Attributes})
	l, created, err := s.st.Create(ctx, store.Grant{Job: r.Job, Owner: r.Owner, Hosts: hosts, Sites: reach.Sites, Core: reach.Core,
		TTL: ttl, Attributes: r.Attributes, Actor: actor, Network: needed})
	s.metrics.op("create", err)
	if created {
		if err == nil { // confirmed (by the replicas, when asked)
			s.watch.seen(l.Token)
		}
		s.log.Info("lease granted", "job", l.Job, "vlan", l.VLAN, "sites", strings.Join(l.Sites, ","), "token", l.Token, "actor", actor)
	}
	return l, created, err
}

func (s *Service) ttl(seconds int64) (time.Duration, error) {
	p := s.cfg.Lease
	if seconds == 0 {
		return p.DefaultTTL.Duration, nil
	}
	if seconds < 0 || seconds > int64(p.MaxTTL.Seconds()) || seconds < int64(p.MinTTL.Seconds()) {
		return 0, badInput("ttl_seconds: %d is outside %d .. %d", seconds, int64(p.MinTTL.Seconds()), int64(p.MaxTTL.Seconds()))
	}
	return time.Duration(seconds) * time.Second, nil
}

// Get reads one lease.
func (s *Service) Get(ctx context.Context, job string) (*api.Lease, error) {
	if err := api.CheckJob(job); err != nil {
		return nil, badInput("job: %v", err)
	}
	return s.st.Get(ctx, job)
}

// ErrNetworkFault: the network could not be configured; the lease failed.
var ErrNetworkFault = errors.New("the network could not be configured")

// window is how long a worker may take before the reaper of any server takes
// the work over (store.PolicyOf).
func (s *Service) window() time.Duration { return s.st.Policy().Window }

// Commit has the network configured and waits up to the commit timeout. It
// returns the lease active, still committing (the caller polls), or failed
// with ErrNetworkFault.
func (s *Service) Commit(ctx context.Context, job string, token int64, force bool, actor string) (*api.Lease, error) {
	if err := api.CheckJob(job); err != nil {
		return nil, badInput("job: %v", err)
	}
	res, l, err := s.st.BeginCommit(ctx, store.Commit{Job: job, Token: token, Force: force, Actor: actor})
	s.metrics.op("commit", err)
	if err != nil {
		return nil, err
	}
	switch res {
	case store.CommitStarted:
		s.spawn(job, func(wctx context.Context) { s.apply(wctx, l, actor) })
		return s.settled(ctx, job, api.StateCommitting)
	case store.CommitPending:
		return s.settled(ctx, job, api.StateCommitting)
	case store.CommitActive:
		return l, nil
	case store.CommitFailed:
		return l, ErrNetworkFault
	}
	return nil, &store.StateError{State: l.State}
}

// settled waits up to the commit timeout for a lease to leave a state.
func (s *Service) settled(ctx context.Context, job string, state api.State) (*api.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Lease.CommitTimeout.Duration)
	defer cancel()
	s.mu.Lock()
	done := s.working[job]
	s.mu.Unlock()
	for {
		l, err := s.st.Get(context.WithoutCancel(ctx), job)
		if err != nil || l.State != state {
			if err == nil && l.State == api.StateFailed {
				err = ErrNetworkFault
			}
			return l, err
		}
		select {
		case <-ctx.Done():
			return l, nil
		case <-done:
			done = nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// spawn runs a worker that outlives the request that started it.
func (s *Service) spawn(job string, f func(ctx context.Context)) {
	done := make(chan struct{})
	s.mu.Lock()
	s.working[job] = done
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			if s.working[job] == done {
				delete(s.working, job)
			}
			s.mu.Unlock()
			close(done)
		}()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.stop), s.window())
		defer cancel()
		f(ctx)
	}()
}

func (s *Service) apply(ctx context.Context, l *api.Lease, actor string) {
	actx, cancel := context.WithTimeout(ctx, s.cfg.Lease.CommitTimeout.Duration)
	err := s.net.Apply(actx, l)
	cancel()
	if err != nil {
		// Apply undid its own steps: the lease fails and its VLAN goes back.
		s.log.Warn("commit failed and was undone", "job", l.Job, "vlan", l.VLAN, "err", err)
		if serr := s.st.Settle(ctx, committed(l, api.StateFailed, "network_fault: "+oneLine(err), actor)); serr != nil {
			s.log.Info("failed commit settled elsewhere", "job", l.Job, "err", serr)
		}
		return
	}
	err = s.st.Settle(ctx, committed(l, api.StateActive, "", actor))
	if err == nil {
		s.log.Info("lease active", "job", l.Job, "vlan", l.VLAN)
		return
	}
	// Released or forced meanwhile: whoever moved it tears the network down.
	s.log.Warn("lease moved on while it was committed", "job", l.Job, "err", err)
}

// rollback removes what a failed or abandoned commit left and fails the lease.
func (s *Service) rollback(ctx context.Context, l *api.Lease, reason, actor string) {
	if err := s.net.Teardown(ctx, l.Carried()); err != nil {
		// The lease stays committing; the reaper retries when its window ends.
		s.log.Error("rollback incomplete, will retry", "job", l.Job, "vlan", l.VLAN, "err", err)
		return
	}
	if err := s.st.Settle(ctx, committed(l, api.StateFailed, reason, actor)); err != nil {
		s.log.Info("rollback settled elsewhere", "job", l.Job, "err", err)
	}
}

// committed ends l's commit in state to.
func committed(l *api.Lease, to api.State, reason, actor string) store.Transition {
	return store.Transition{Job: l.Job, Token: l.Token, From: api.StateCommitting, To: to, Reason: reason, Actor: actor}
}

// Renew sets a new TTL from now.
func (s *Service) Renew(ctx context.Context, job string, token, ttlSeconds int64, actor string) (*api.Lease, error) {
	if err := api.CheckJob(job); err != nil {
		return nil, badInput("job: %v", err)
	}
	ttl, err := s.ttl(ttlSeconds)
	if err != nil {
		return nil, err
	}
	l, err := s.st.Renew(ctx, store.Renewal{Job: job, Token: token, TTL: ttl, Actor: actor})
	s.metrics.op("renew", err)
	return l, err
}

// Release ends a lease (force: without its token) and waits up to the commit
// timeout for the network to be cleaned.
func (s *Service) Release(ctx context.Context, job string, token int64, force bool, actor string) (*api.Lease, error) {
	if err := api.CheckJob(job); err != nil {
		return nil, badInput("job: %v", err)
	}
	reason := "released"
	if force {
		reason = "forced"
	}
	res, l, err := s.st.BeginRelease(ctx, store.Release{Job: job, Token: token, Force: force, Reason: reason, Actor: actor})
	s.metrics.op("release", err)
	if err != nil {
		return nil, err
	}
	if res == store.ReleaseEnded {
		return l, nil
	}
	if res == store.ReleaseStarted {
		s.spawn(job, func(wctx context.Context) { s.teardown(wctx, l, actor) })
	}
	l, err = s.settled(ctx, job, api.StateReleasing)
	if errors.Is(err, ErrNetworkFault) {
		err = nil
	}
	return l, err
}

// teardown removes a releasing lease's network and frees its VLAN. When a
// device does not answer, the lease stays releasing and its VLAN taken; the
// reaper retries when the window ends.
func (s *Service) teardown(ctx context.Context, l *api.Lease, actor string) {
	if err := s.net.Teardown(ctx, l.Carried()); err != nil {
		s.log.Error("teardown incomplete, will retry", "job", l.Job, "vlan", l.VLAN, "err", err)
		return
	}
	if err := s.st.Settle(ctx, store.Transition{Job: l.Job, Token: l.Token,
		From: api.StateReleasing, To: api.StateReleased, Reason: l.Reason, Actor: actor}); err != nil {
		s.log.Info("teardown settled elsewhere", "job", l.Job, "err", err)
		return
	}
	s.log.Info("lease released", "job", l.Job, "vlan", l.VLAN, "reason", l.Reason)
}

// Reap finishes every lease whose deadline passed: expired leases are torn
// down, holds past the hold timeout aborted, abandoned commits rolled back,
// stuck teardowns retried. Safe to run in every server at once.
func (s *Service) Reap(ctx context.Context) (int, error) {
	if lost, err := s.CheckStore(ctx); err != nil || lost != "" {
		return 0, err // a rolled-back store's deadlines are not to be acted on
	}
	claimed, err := s.st.Claim(ctx, 256)
	if err != nil {
		return 0, err
	}
	for _, c := range claimed {
		s.mu.Lock()
		busy := s.working[c.Job] != nil
		s.mu.Unlock()
		if busy {
			continue // this process is still on it
		}
		l, err := s.st.Get(ctx, c.Job)
		if err != nil || l.Token != c.Token {
			continue
		}
		s.metrics.reaped(c.State)
		s.log.Info("reaper takes over", "job", c.Job, "state", c.State, "reason", l.Reason)
		switch c.State {
		case api.StateCommitting:
			s.spawn(c.Job, func(wctx context.Context) { s.rollback(wctx, l, "commit_abandoned", "reaper") })
		case api.StateReleasing:
			s.spawn(c.Job, func(wctx context.Context) { s.teardown(wctx, l, "reaper") })
		}
	}
	if _, err := s.st.Purge(ctx, 256); err != nil {
		return len(claimed), err
	}
	return len(claimed), s.Recover(ctx)
}

// RunReaper reaps every interval until ctx ends.
func (s *Service) RunReaper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Reap(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reaper pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pools reports every site's pool.
func (s *Service) Pools(ctx context.Context) ([]api.Pool, error) {
	sites := make([]string, 0, len(s.cfg.Sites))
	for site := range s.cfg.Sites {
		sites = append(sites, site)
	}
	sort.Strings(sites)
	return s.st.Pools(ctx, sites)
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
