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

// StateError says a lease is in a state that does not allow the operation.
type StateError struct{ State string }

func (e *StateError) Error() string { return "the lease is " + e.State }

// Store is the lease store on one Redis (single, Sentinel or Cluster).
type Store struct {
	rdb redis.UniversalClient
	// Now, when set, replaces the Redis server's clock (tests).
	Now func() time.Time
	// WaitReplicas > 0 makes every change wait for that many replicas.
	WaitReplicas int
	WaitTimeout  time.Duration
}

// New wraps a Redis client.
func New(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// Client is the underlying Redis client.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

func (s *Store) now() string {
	if s.Now == nil {
		return ""
	}
	return strconv.FormatInt(s.Now().UnixMilli(), 10)
}

func leaseKey(job string) string { return Prefix + "lease:" + job }

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// run evaluates a script; with WaitReplicas it sends the script and WAIT in
// one pipeline on the connection of the keys' primary, because WAIT covers
// only the writes of its own connection and cannot run inside a script.
func (s *Store) run(ctx context.Context, name string, key string, args ...any) ([]any, error) {
	sc := scripts[name]
	keys := []string{key}
	argv := append([]any{Prefix}, args...)
	if s.WaitReplicas <= 0 {
		v, err := sc.Run(ctx, s.rdb, keys, argv...).Result()
		return asSlice(v), err
	}
	var res *redis.Cmd
	var wait *redis.Cmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		res = p.EvalSha(ctx, sc.Hash(), keys, argv...)
		wait = p.Do(ctx, "WAIT", s.WaitReplicas, s.WaitTimeout.Milliseconds())
		return nil
	})
	if err != nil && redis.HasErrorPrefix(res.Err(), "NOSCRIPT") {
		if lerr := sc.Load(ctx, s.rdb).Err(); lerr != nil {
			return nil, lerr
		}
		return s.run(ctx, name, key, args...)
	}
	if err != nil {
		return nil, err
	}
	if n, _ := wait.Int(); n < s.WaitReplicas {
		return asSlice(res.Val()), fmt.Errorf("%w: %d of %d replicas acknowledged", ErrNotReplicated, n, s.WaitReplicas)
	}
	return asSlice(res.Val()), nil
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
	Hold       time.Duration
	Attributes map[string]string
	Actor      string
	// Network says the lease needs devices configured; a lease that needs
	// none goes from held to active and from active to released at once.
	Network bool
}

// Create grants a lease, or returns the job's live one (created false).
func (s *Store) Create(ctx context.Context, g Grant) (l *api.Lease, created bool, err error) {
	hosts, _ := json.Marshal(g.Hosts)
	attrs, _ := json.Marshal(orEmpty(g.Attributes))
	r, err := s.run(ctx, "create", leaseKey(g.Job), g.Job, g.Owner, string(hosts), strings.Join(g.Sites, ","),
		ms(g.TTL), string(attrs), ms(g.Hold), s.now(), g.Actor, flag(g.Network), g.Core)
	if err != nil && !errors.Is(err, ErrNotReplicated) {
		return nil, false, err
	}
	switch str(r, 0) {
	case "created":
		created = true
	case "exists":
	case "conflict":
		return nil, false, ErrConflict
	case "exhausted":
		return nil, false, ErrExhausted
	default:
		return nil, false, fmt.Errorf("create: unexpected answer %v", r)
	}
	if err != nil {
		return nil, false, err
	}
	l, err = leaseOf(r, 1)
	return l, created, err
}

// leaseOf decodes the flat HGETALL list a script returned at index i.
func leaseOf(r []any, i int) (*api.Lease, error) {
	if i >= len(r) {
		return nil, fmt.Errorf("script answer has no lease: %v", r)
	}
	flat := asSlice(r[i])
	m := make(map[string]string, len(flat)/2)
	for k := 0; k+1 < len(flat); k += 2 {
		m[str(flat, k)] = str(flat, k+1)
	}
	return decode(m)
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
	l := &api.Lease{Job: m["job"], Owner: m["owner"], State: m["state"], Reason: m["reason"]}
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

// BeginCommit moves a held lease to committing. It answers "started" when the
// caller must now configure the network, else the state the lease is in
// (active at once for a lease with nothing to configure), with the lease.
func (s *Store) BeginCommit(ctx context.Context, job string, token int64, force bool, window time.Duration, actor string) (string, *api.Lease, error) {
	r, err := s.run(ctx, "commit", leaseKey(job), token, flag(force), ms(window), s.now(), actor)
	if err != nil {
		return "", nil, err
	}
	res, err := answer(r)
	if err != nil {
		return "", nil, err
	}
	l, err := leaseOf(r, 1)
	return res, l, err
}

// Settle ends a transition: committing -> active|failed, releasing -> released.
// It fails with ErrStale or a *StateError when the lease moved on meanwhile.
func (s *Store) Settle(ctx context.Context, job string, token int64, from, to, reason string, quarantine, retention time.Duration, actor string) error {
	r, err := s.run(ctx, "settle", leaseKey(job), token, from, to, reason, s.now(), ms(quarantine), ms(retention), actor)
	if err != nil {
		return err
	}
	switch str(r, 0) {
	case "ok":
		return nil
	case "moved":
		return &StateError{State: str(r, 1)}
	}
	_, err = answer(r)
	return err
}

// BeginRelease starts a lease's teardown. It answers "released" for a lease
// that had nothing configured, "started" (with the state it left) when the
// caller must now tear down, or the state the lease is already in; with the
// lease.
func (s *Store) BeginRelease(ctx context.Context, job string, token int64, force bool, reason string, window, quarantine, retention time.Duration, actor string) (result, from string, l *api.Lease, err error) {
	r, err := s.run(ctx, "release", leaseKey(job), token, flag(force), reason, ms(window), s.now(), ms(quarantine), ms(retention), actor)
	if err != nil {
		return "", "", nil, err
	}
	if result, err = answer(r); err != nil {
		return "", "", nil, err
	}
	l, err = leaseOf(r, 1)
	return result, str(r, 2), l, err
}

// Renew sets a new expiry, ttl from now.
func (s *Store) Renew(ctx context.Context, job string, token int64, ttl time.Duration, actor string) (*api.Lease, error) {
	r, err := s.run(ctx, "renew", leaseKey(job), token, ms(ttl), s.now(), actor)
	if err != nil {
		return nil, err
	}
	res, err := answer(r)
	if err != nil {
		return nil, err
	}
	if res != "ok" {
		return nil, &StateError{State: res}
	}
	return leaseOf(r, 1)
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
	Window   time.Duration
	Quarant  time.Duration
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
	expected, _ := json.Marshal(m.Expected)
	hosts, _ := json.Marshal(m.Hosts)
	r, err := s.run(ctx, "patch", leaseKey(m.Job), m.Token, string(expected), string(hosts), strings.Join(m.Sites, ","), m.Core,
		s.now(), m.Actor, flag(m.Network), ms(m.Window), ms(m.Quarant))
	if err != nil {
		return nil, err
	}
	switch res, err := answer(r); {
	case err != nil:
		return nil, err
	case res == "exhausted":
		return nil, fmt.Errorf("%w: the lease's VLAN is taken at %s", ErrExhausted, str(r, 1))
	case res == "busy":
		return nil, ErrBusy
	case res == "changed":
		return nil, ErrChanged
	case res != "ok":
		return nil, &StateError{State: res}
	}
	return leaseOf(r, 1)
}

// MoveDone records that the switches match the lease after migration move:
// its residue leaves the reservation through quarantine.
func (s *Store) MoveDone(ctx context.Context, job string, token, move int64, quarantine time.Duration, actor string) error {
	r, err := s.run(ctx, "movedone", leaseKey(job), token, move, s.now(), ms(quarantine), actor)
	return moveAnswer(r, err)
}

// MoveRevert gives a lease its old hosts back after migration move failed
// on the devices; whatever the migration reached joins the residue, due for
// removal at once. It returns the lease as reverted.
func (s *Store) MoveRevert(ctx context.Context, old *api.Lease, move int64, actor string) (*api.Lease, error) {
	hosts, _ := json.Marshal(old.Hosts)
	r, err := s.run(ctx, "moverevert", leaseKey(old.Job), old.Token, move, string(hosts), strings.Join(old.Sites, ","), old.Core, s.now(), actor)
	if err := moveAnswer(r, err); err != nil {
		return nil, err
	}
	return leaseOf(r, 1)
}

func moveAnswer(r []any, err error) error {
	if err != nil {
		return err
	}
	switch res, err := answer(r); {
	case err != nil:
		return err
	case res == "moved":
		return &StateError{State: str(r, 1)}
	case res != "ok":
		return fmt.Errorf("unexpected answer from Redis: %v", r)
	}
	return nil
}

// ClaimMoves takes up to limit migrations whose window passed, for this
// process to finish.
func (s *Store) ClaimMoves(ctx context.Context, limit int, window time.Duration) ([]string, error) {
	return scripts["claimmoves"].Run(ctx, s.rdb, []string{Prefix + "moving"}, Prefix, s.now(), limit, ms(window)).StringSlice()
}

// Adopt gives a live lease from before L2 cores its core reservation. It
// returns the job that already holds the VLAN on that core, if any: two
// such leases share one L2 network until one of them ends.
func (s *Store) Adopt(ctx context.Context, job, core string) (string, error) {
	r, err := s.run(ctx, "adopt", leaseKey(job), core)
	if err != nil {
		return "", err
	}
	if str(r, 0) == "conflict" {
		return str(r, 1), nil
	}
	return "", nil
}

// Claimed is a lease the reaper must finish: committing (roll back) or
// releasing (tear down).
type Claimed struct {
	Job   string
	State string
	Token int64
}

// Claim takes up to limit leases whose deadline passed. Held leases past
// their hold timeout are aborted inside the script and not returned.
func (s *Store) Claim(ctx context.Context, limit int, window, quarantine, retention time.Duration) ([]Claimed, error) {
	v, err := scripts["claim"].Run(ctx, s.rdb, []string{Prefix + "due"}, Prefix, s.now(), limit, ms(window), ms(quarantine), ms(retention)).Result()
	if err != nil {
		return nil, err
	}
	var out []Claimed
	for _, e := range asSlice(v) {
		t := asSlice(e)
		tok, _ := strconv.ParseInt(str(t, 2), 10, 64)
		out = append(out, Claimed{Job: str(t, 0), State: str(t, 1), Token: tok})
	}
	return out, nil
}

// Purge forgets ended leases whose retention is over.
func (s *Store) Purge(ctx context.Context, limit int) (int, error) {
	return scripts["purge"].Run(ctx, s.rdb, []string{Prefix + "purge"}, Prefix, s.now(), limit).Int()
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
	args := []any{Prefix, kind, name, s.now()}
	for _, v := range vids {
		args = append(args, v)
	}
	key := Prefix + "pool:" + name
	if kind == "core" {
		key = Prefix + "cpool:" + name
	}
	return scripts["syncpool"].Run(ctx, s.rdb, []string{key}, args...).Err()
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
			if v := st.Val(); v == api.StateActive || v == api.StateReleasing {
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

func answer(r []any) (string, error) {
	switch res := str(r, 0); res {
	case "not_found":
		return "", ErrNotFound
	case "stale":
		return "", ErrStale
	case "":
		return "", fmt.Errorf("unexpected answer from Redis: %v", r)
	default:
		return res, nil
	}
}

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
