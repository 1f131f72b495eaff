// Package store keeps leases in Redis. Every change is one Lua script (files
// in lua/, embedded), so allocation, fencing and expiry are atomic on the
// Redis server, and time is the Redis server's own clock (or an injected
// clock in tests), never a host's. No key carries a Redis TTL: a key that
// silently vanished would tear nothing down.
package store

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/virtcloud/virtcloud/internal/api"
)

//go:embed lua/*.lua
var luaFS embed.FS

// Prefix starts every key. The braces are a Redis Cluster hash tag: all keys
// live in one slot, so every script may touch any of them.
const Prefix = "{vc}:"

var scripts = map[string]*redis.Script{}

func init() {
	common, err := luaFS.ReadFile("lua/common.lua")
	if err != nil {
		panic(err)
	}
	entries, _ := luaFS.ReadDir("lua")
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".lua")
		if name == "common" {
			continue
		}
		body, _ := luaFS.ReadFile("lua/" + e.Name())
		scripts[name] = redis.NewScript(string(common) + "\n" + string(body))
	}
}

// Errors the store returns; the API maps them to codes.
var (
	ErrNotFound  = errors.New("no such lease")
	ErrConflict  = errors.New("the job already has a live lease for other hosts")
	ErrExhausted = errors.New("no VLAN is free at every site of the lease")
	ErrStale     = errors.New("the token is not the lease's current token")
)

// StateError says a lease is in a state that does not allow the operation,
// or, Migrated, that a later migration of it fences out this one's writes.
type StateError struct {
	State    api.State
	Migrated bool
}

func (e *StateError) Error() string {
	if e.Migrated {
		return "the lease is migrated again"
	}
	return "the lease is " + string(e.State)
}

// Store is the lease store on one Redis (single, Sentinel or Cluster).
type Store struct {
	rdb redis.UniversalClient
	p   Policy
}

// New wraps a Redis client; p is fixed for the store's life.
func New(rdb redis.UniversalClient, p Policy) *Store { return &Store{rdb: rdb, p: p} }

// Client is the underlying Redis client.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Policy is the policy the store was built with.
func (s *Store) Policy() Policy { return s.p }

// now is the time scripts take: "" for the Redis server's own clock.
func (s *Store) now() string {
	if s.p.Now == nil {
		return ""
	}
	return strconv.FormatInt(s.p.Now().UnixMilli(), 10)
}

func leaseKey(job string) string { return Prefix + "lease:" + job }

// run evaluates a script that changes a lease or a journal; with
// WaitReplicas it sends the script and WAIT in one pipeline on the
// connection of the keys' primary, because WAIT covers only the writes of
// its own connection and cannot run inside a script. args are encoded by
// argv.
func (s *Store) run(ctx context.Context, name string, key string, args ...any) (reply, error) {
	sc := scripts[name]
	keys := []string{key}
	av := argv(args...)
	if s.p.WaitReplicas <= 0 {
		v, err := sc.Run(ctx, s.rdb, keys, av...).Result()
		return reply{name, asSlice(v)}, err
	}
	var res *redis.Cmd
	var wait *redis.Cmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		res = p.EvalSha(ctx, sc.Hash(), keys, av...)
		wait = p.Do(ctx, "WAIT", s.p.WaitReplicas, s.p.WaitTimeout.Milliseconds())
		return nil
	})
	if err != nil && redis.HasErrorPrefix(res.Err(), "NOSCRIPT") {
		if lerr := sc.Load(ctx, s.rdb).Err(); lerr != nil {
			return reply{script: name}, lerr
		}
		return s.run(ctx, name, key, args...)
	}
	if err != nil {
		return reply{script: name}, err
	}
	r := reply{name, asSlice(res.Val())}
	if n, _ := wait.Int(); n < s.p.WaitReplicas {
		return r, fmt.Errorf("%w: %d of %d replicas acknowledged", ErrNotReplicated, n, s.p.WaitReplicas)
	}
	return r, nil
}

// eval evaluates a script whose work needs no replica's confirmation.
func (s *Store) eval(ctx context.Context, name string, key string, args ...any) *redis.Cmd {
	return scripts[name].Run(ctx, s.rdb, []string{key}, argv(args...)...)
}

// ErrNotReplicated means a change was made on the primary but not enough
// replicas confirmed it in time; it may be lost in a failover.
var ErrNotReplicated = errors.New("change not acknowledged by replicas")

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func str(v []any, i int) string {
	if i >= len(v) {
		return ""
	}
	s, _ := v[i].(string)
	return s
}

// Grant is what Create needs.
type Grant struct {
	Job        string
	Owner      string
	Hosts      []string // sorted, distinct
	Sites      []string // sorted, distinct
	Core       string   // the L2 core its uplinks join; "" for none
	TTL        time.Duration
	Attributes map[string]string
	Actor      string
	// Network says the lease needs devices configured; a lease that needs
	// none goes from held to active and from active to released at once.
	Network bool
}

// Create grants a lease, or returns the job's live one (created false).
func (s *Store) Create(ctx context.Context, g Grant) (l *api.Lease, created bool, err error) {
	attrs, _ := json.Marshal(orEmpty(g.Attributes)) // a map[string]string always marshals
	r, err := s.run(ctx, "create", leaseKey(g.Job), g.Job, g.Owner, hostsJSON(g.Hosts),
		g.TTL, string(attrs), s.p.Hold, s.now(), g.Actor, g.Network, g.Core, g.Sites)
	if err != nil && !errors.Is(err, ErrNotReplicated) {
		return nil, false, err
	}
	created, rerr := createResult(r)
	if rerr != nil {
		return nil, false, rerr
	}
	if err != nil {
		return nil, false, err
	}
	l, err = r.lease(1)
	return l, created, err
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Get reads one lease.
func (s *Store) Get(ctx context.Context, job string) (*api.Lease, error) {
	m, err := s.rdb.HGetAll(ctx, leaseKey(job)).Result()
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, ErrNotFound
	}
	return decode(m)
}

func decode(m map[string]string) (*api.Lease, error) {
	l := &api.Lease{Job: m["job"], Owner: m["owner"], Reason: m["reason"]}
	state, err := api.ParseState(m["state"])
	if err != nil {
		return nil, fmt.Errorf("lease %s: %w", l.Job, err)
	}
	l.State = state
	if err := json.Unmarshal([]byte(m["hosts"]), &l.Hosts); err != nil {
		return nil, fmt.Errorf("lease %s: hosts: %w", l.Job, err)
	}
	if err := json.Unmarshal([]byte(m["attrs"]), &l.Attributes); err != nil {
		return nil, fmt.Errorf("lease %s: attributes: %w", l.Job, err)
	}
	l.Sites = strings.Split(m["sites"], ",")
	l.Core = m["core"]
	l.Move, _ = strconv.ParseInt(m["move"], 10, 64)
	if m["rhosts"] != "" && m["rhosts"] != "[]" || m["rsites"] != "" || m["rcores"] != "" {
		r := &api.Residue{Sites: splitList(m["rsites"]), Cores: splitList(m["rcores"])}
		if m["rhosts"] != "" {
			if err := json.Unmarshal([]byte(m["rhosts"]), &r.Hosts); err != nil {
				return nil, fmt.Errorf("lease %s: residue hosts: %w", l.Job, err)
			}
		}
		l.Residue = r
	}
	l.VLAN, _ = strconv.Atoi(m["vlan"])
	l.Token, _ = strconv.ParseInt(m["token"], 10, 64)
	l.FailedStarts, _ = strconv.Atoi(m["failed_starts"])
	l.CreatedAt = msTime(m["created_at"])
	l.ExpiresAt = msTime(m["expires_at"])
	l.UpdatedAt = msTime(m["updated_at"])
	return l, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func msTime(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.UnixMilli(n).UTC()
}

// List reads every lease, live and ended (until purged), sorted by job.
func (s *Store) List(ctx context.Context) ([]api.Lease, error) {
	jobs, err := s.rdb.SMembers(ctx, Prefix+"jobs").Result()
	if err != nil {
		return nil, err
	}
	sort.Strings(jobs)
	cmds := make([]*redis.MapStringStringCmd, len(jobs))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, j := range jobs {
			cmds[i] = p.HGetAll(ctx, leaseKey(j))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]api.Lease, 0, len(jobs))
	for _, c := range cmds {
		if len(c.Val()) == 0 {
			continue
		}
		l, err := decode(c.Val())
		if err != nil {
			return nil, err
		}
		out = append(out, *l)
	}
	return out, nil
}

// History reads a lease's audit trail.
func (s *Store) History(ctx context.Context, job string) ([]api.Event, error) {
	raw, err := s.rdb.LRange(ctx, Prefix+"hist:"+job, 0, -1).Result()
	if err != nil {
		return nil, err
	}
	out := make([]api.Event, 0, len(raw))
	for _, r := range raw {
		var e struct {
			At                            int64
			Actor, Action, Result, Detail string
		}
		if err := json.Unmarshal([]byte(r), &e); err != nil {
			return nil, fmt.Errorf("history of %s: %w", job, err)
		}
		out = append(out, api.Event{At: time.UnixMilli(e.At).UTC(), Actor: e.Actor, Action: e.Action, Result: e.Result, Detail: e.Detail})
	}
	return out, nil
}

// Record appends an event to a lease's history (results per switch and the like).
func (s *Store) Record(ctx context.Context, job string, e api.Event) error {
	b, _ := json.Marshal(map[string]any{"at": e.At.UnixMilli(), "actor": e.Actor, "action": e.Action, "result": e.Result, "detail": e.Detail})
	return s.rdb.RPush(ctx, Prefix+"hist:"+job, b).Err()
}

// Commit is what BeginCommit needs.
type Commit struct {
	Job   string
	Token int64
	Force bool // an admin's: without the token
	Actor string
}

// BeginCommit moves a held lease to committing (CommitStarted: the caller
// must now configure the network), or says where the lease is; with the
// lease.
func (s *Store) BeginCommit(ctx context.Context, c Commit) (CommitResult, *api.Lease, error) {
	r, err := s.run(ctx, "commit", leaseKey(c.Job), c.Token, c.Force, s.p.Window, s.now(), c.Actor)
	if err != nil {
		return 0, nil, err
	}
	return begun(r, CommitStarted, commitStates)
}

// Transition is what Settle needs: the end of a transition From -> To.
type Transition struct {
	Job      string
	Token    int64
	From, To api.State // committing -> active|failed, releasing -> released
	Reason   string
	Actor    string
}

// Settle ends a transition. It fails with ErrStale or a *StateError when
// the lease moved on meanwhile.
func (s *Store) Settle(ctx context.Context, t Transition) error {
	r, err := s.run(ctx, "settle", leaseKey(t.Job), t.Token, t.From, t.To, t.Reason, s.now(), s.p.Quarantine, s.p.Retention, t.Actor)
	if err != nil {
		return err
	}
	return settled(r)
}

// Release is what BeginRelease needs.
type Release struct {
	Job    string
	Token  int64
	Force  bool   // an admin's: without the token
	Reason string // released, forced ...
	Actor  string
}

// BeginRelease starts a lease's teardown (ReleaseStarted: the caller must
// now tear the network down), ends at once a lease with nothing on any
// device, or says where the lease is; with the lease.
func (s *Store) BeginRelease(ctx context.Context, rel Release) (ReleaseResult, *api.Lease, error) {
	r, err := s.run(ctx, "release", leaseKey(rel.Job), rel.Token, rel.Force, rel.Reason, s.p.Window, s.now(), s.p.Quarantine, s.p.Retention, rel.Actor)
	if err != nil {
		return 0, nil, err
	}
	return begun(r, ReleaseStarted, releaseStates)
}

// Renewal is what Renew needs.
type Renewal struct {
	Job   string
	Token int64
	TTL   time.Duration // the new expiry, from now
	Actor string
}

// Renew sets a new expiry.
func (s *Store) Renew(ctx context.Context, n Renewal) (*api.Lease, error) {
	r, err := s.run(ctx, "renew", leaseKey(n.Job), n.Token, n.TTL, s.now(), n.Actor)
	if err != nil {
		return nil, err
	}
	return renewResult(r)
}

// Move is a migration as the store takes it: the hosts the caller read and
// the lease's new hosts and reach.
type Move struct {
	Job      string
	Token    int64
	Expected []string // the hosts the caller read; another patch since means ErrChanged
	Hosts    []string
	Sites    []string
	Core     string
	Network  bool // the lease needs devices configured, before or after
	Actor    string
}

// Errors of a migration.
var (
	// ErrChanged: another patch changed the lease's hosts since they were read.
	ErrChanged = errors.New("the lease's hosts changed meanwhile")
	// ErrBusy: another migration of the lease is still on the switches.
	ErrBusy = errors.New("another migration of this lease is in progress")
)

// Patch changes a live lease's hosts and reach. It returns the lease as
// changed: when its Residue is set the caller must now move the devices and
// then call MoveDone (or MoveRevert).
func (s *Store) Patch(ctx context.Context, m Move) (*api.Lease, error) {
	r, err := s.run(ctx, "patch", leaseKey(m.Job), m.Token, hostsJSON(m.Expected), hostsJSON(m.Hosts), m.Core,
		s.now(), m.Actor, m.Network, s.p.Window, s.p.Quarantine, m.Sites)
	if err != nil {
		return nil, err
	}
	return patchResult(r)
}

// MoveStep names one migration of a lease: its number and the grant's token.
type MoveStep struct {
	Job   string
	Token int64
	Move  int64
	Actor string
}

// StepOf names l's current migration.
func StepOf(l *api.Lease, actor string) MoveStep {
	return MoveStep{Job: l.Job, Token: l.Token, Move: l.Move, Actor: actor}
}

// MoveDone records that the switches match the lease after the migration:
// its residue leaves the reservation through quarantine.
func (s *Store) MoveDone(ctx context.Context, m MoveStep) error {
	r, err := s.run(ctx, "movedone", leaseKey(m.Job), m.Token, m.Move, s.now(), s.p.Quarantine, m.Actor)
	if err != nil {
		return err
	}
	return settled(r)
}

// MoveRevert gives a lease the hosts and reach of old back after the
// migration failed on the devices; whatever the migration reached joins
// the residue, due for removal at once. It returns the lease as reverted.
func (s *Store) MoveRevert(ctx context.Context, m MoveStep, old *api.Lease) (*api.Lease, error) {
	r, err := s.run(ctx, "moverevert", leaseKey(m.Job), m.Token, m.Move, hostsJSON(old.Hosts), old.Core, s.now(), m.Actor, old.Sites)
	if err != nil {
		return nil, err
	}
	if err := settled(r); err != nil {
		return nil, err
	}
	return r.lease(1)
}

// ClaimMoves takes up to limit migrations whose window passed, for this
// process to finish.
func (s *Store) ClaimMoves(ctx context.Context, limit int) ([]string, error) {
	return s.eval(ctx, "claimmoves", Prefix+"moving", s.now(), limit, s.p.Window).StringSlice()
}

// Adopt gives a live lease from before L2 cores its core reservation. It
// returns the job that already holds the VLAN on that core, if any: two
// such leases share one L2 network until one of them ends.
func (s *Store) Adopt(ctx context.Context, job, core string) (string, error) {
	r, err := s.run(ctx, "adopt", leaseKey(job), core)
	if err != nil {
		return "", err
	}
	return adoptResult(r)
}

// Claimed is a lease the reaper must finish: committing (roll back) or
// releasing (tear down).
type Claimed struct {
	Job   string
	State api.State
	Token int64
}

// Claim takes up to limit leases whose deadline passed. Held leases past
// their hold timeout are aborted inside the script and not returned.
func (s *Store) Claim(ctx context.Context, limit int) ([]Claimed, error) {
	v, err := s.eval(ctx, "claim", Prefix+"due", s.now(), limit, s.p.Window, s.p.Quarantine, s.p.Retention).Result()
	if err != nil {
		return nil, err
	}
	var out []Claimed
	for _, e := range asSlice(v) {
		t := reply{"claim", asSlice(e)}
		tok, err := strconv.ParseInt(t.arg(2), 10, 64)
		st := t.state(1)
		if err != nil || t.arg(0) == "" || (st != api.StateCommitting && st != api.StateReleasing) {
			return nil, t.unexpected()
		}
		out = append(out, Claimed{Job: t.arg(0), State: st, Token: tok})
	}
	return out, nil
}

// Purge forgets ended leases whose retention is over.
func (s *Store) Purge(ctx context.Context, limit int) (int, error) {
	return s.eval(ctx, "purge", Prefix+"purge", s.now(), limit).Int()
}

// SyncPool makes a site's pool the configured list of VLANs.
func (s *Store) SyncPool(ctx context.Context, site string, vids []int) error {
	return s.syncPool(ctx, "site", site, vids)
}

// SyncCore makes an L2 core's pool the union of its sites' pools.
func (s *Store) SyncCore(ctx context.Context, core string, vids []int) error {
	return s.syncPool(ctx, "core", core, vids)
}

// syncPool runs syncpool.lua for a site ("site") or a core ("core").
func (s *Store) syncPool(ctx context.Context, kind, name string, vids []int) error {
	key := Prefix + "pool:" + name
	if kind == "core" {
		key = Prefix + "cpool:" + name
	}
	return s.eval(ctx, "syncpool", key, kind, name, s.now(), vids).Err()
}

// Pools counts each site's VLANs by state.
func (s *Store) Pools(ctx context.Context, sites []string) ([]api.Pool, error) {
	out := make([]api.Pool, 0, len(sites))
	for _, site := range sites {
		p := api.Pool{Site: site}
		var size, free, quar *redis.IntCmd
		var used *redis.MapStringStringCmd
		_, err := s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			size = pl.SCard(ctx, Prefix+"pool:"+site)
			free = pl.ZCard(ctx, Prefix+"free:"+site)
			quar = pl.ZCard(ctx, Prefix+"quar:"+site)
			used = pl.HGetAll(ctx, Prefix+"used:"+site)
			return nil
		})
		if err != nil {
			return nil, err
		}
		p.Size, p.Free, p.Quarantined = int(size.Val()), int(free.Val()), int(quar.Val())
		var states []*redis.StringCmd
		// The pipeline's own error is that of its first failed command, which
		// may be a harmless redis.Nil; each command's error is checked below.
		_, _ = s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for _, job := range used.Val() {
				states = append(states, pl.HGet(ctx, leaseKey(job), "state"))
			}
			return nil
		})
		for _, st := range states {
			// A used VLAN whose lease record is gone (redis.Nil) is still
			// reserved, so held; any other error makes the counts unknown.
			if err := st.Err(); err != nil && !errors.Is(err, redis.Nil) {
				return nil, fmt.Errorf("pools: site %s: %w", site, err)
			}
			if v := api.State(st.Val()); v == api.StateActive || v == api.StateReleasing {
				p.Active++
			} else {
				p.Held++
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// Owner reports which job holds a VLAN at a site ("" when none).
func (s *Store) Owner(ctx context.Context, site string, vid int) (string, error) {
	job, err := s.rdb.HGet(ctx, Prefix+"used:"+site, strconv.Itoa(vid)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return job, err
}

// flag is a bool as scripts read it.
func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Moving reports whether a migration of the job has yet to finish.
func (s *Store) Moving(ctx context.Context, job string) (bool, error) {
	_, err := s.rdb.ZScore(ctx, Prefix+"moving", job).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil, err
}
