package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/redistest"
)

// TestArgvEncoding: one encoding for every script; a list goes last, one
// entry per element, so an element is never split.
func TestArgvEncoding(t *testing.T) {
	got := argv(1500*time.Millisecond, true, false, "x,y", int64(7), api.StateActive, []string{"a,b", "c"})
	want := []any{Prefix, "1500", "1", "0", "x,y", int64(7), "active", "a,b", "c"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("argv: %#v, want %#v", got, want)
	}
	if got := argv([]api.State{api.StateHeld, api.StateFailed}); !reflect.DeepEqual(got, []any{Prefix, "held", "failed"}) {
		t.Fatalf("argv of states: %#v", got)
	}
	if got := hostsJSON(nil); got != "[]" {
		t.Fatalf("no hosts: %q, want []", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a list before the last argument was accepted")
		}
	}()
	argv([]string{"a"}, "b")
}

// TestUnknownAnswerNamesTheScript: every decoder refuses an answer its
// script does not give, and the error names the script.
func TestUnknownAnswerNamesTheScript(t *testing.T) {
	decoders := map[string]func(reply) error{
		"create":  func(r reply) error { _, err := createResult(r); return err },
		"commit":  func(r reply) error { _, _, err := begun(r, CommitStarted, commitStates); return err },
		"release": func(r reply) error { _, _, err := begun(r, ReleaseStarted, releaseStates); return err },
		"settle":  settled,
		"renew":   func(r reply) error { _, err := renewResult(r); return err },
		"patch":   func(r reply) error { _, err := patchResult(r); return err },

		"guard":   guardResult,
		"adopt":   func(r reply) error { _, err := adoptResult(r); return err },
		"journal": okResult,
		"commit-nil": func(r reply) error {
			_, _, err := begun(reply{script: "commit"}, CommitStarted, commitStates)
			return err
		},
	}
	for name, dec := range decoders {
		script := strings.TrimSuffix(name, "-nil")
		err := dec(reply{script: script, raw: []any{"sideways"}})
		var ae *AnswerError
		if !errors.As(err, &ae) || ae.Script != script || !strings.HasPrefix(err.Error(), script+".lua: ") {
			t.Errorf("%s: %v, want an *AnswerError naming %s.lua", name, err, script)
		}
	}
}

// TestUnknownStateIsAnError: a state word Go does not know, in a script's
// answer or in a lease hash, is an error naming the script (or the lease),
// never a state passed on; the words that may follow "moved" are typed.
func TestUnknownStateIsAnError(t *testing.T) {
	hash := []any{"job", "1.pbs", "state", "paused", "hosts", "[]", "attrs", "{}"}
	if _, _, err := begun(reply{"commit", []any{"started", hash}}, CommitStarted, commitStates); err == nil ||
		!strings.HasPrefix(err.Error(), "commit.lua: lease 1.pbs: unknown lease state \"paused\" (valid: held, committing, active, releasing, released, failed)") {
		t.Errorf("a lease in an unknown state from commit.lua: %v", err)
	}
	var ae *AnswerError
	if _, _, err := begun(reply{"release", []any{"paused", hash}}, ReleaseStarted, releaseStates); !errors.As(err, &ae) || ae.Script != "release" {
		t.Errorf("release.lua answering an unknown state: %v, want an *AnswerError naming release.lua", err)
	}
	if err := settled(reply{"settle", []any{"moved", "paused"}}); !errors.As(err, &ae) || ae.Script != "settle" {
		t.Errorf("settle.lua moved to an unknown state: %v, want an *AnswerError naming settle.lua", err)
	}
	var se *StateError
	if err := guardResult(reply{"guard", []any{"moved", "released"}}); !errors.As(err, &se) || se.State != api.StateReleased || se.Migrated {
		t.Errorf("guard.lua moved to released: %#v", err)
	}
	if err := guardResult(reply{"guard", []any{"moved", "migrated again"}}); !errors.As(err, &se) || !se.Migrated || err.Error() != "the lease is migrated again" {
		t.Errorf("guard.lua migrated again: %#v", err)
	}
	if err := guardResult(reply{"guard", []any{"moved", "gone"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("guard.lua found no state: %v, want ErrNotFound", err)
	}

	rdb := startRedis(t)
	st := New(rdb, Policy{Hold: time.Minute, Window: time.Minute, Quarantine: time.Millisecond, Retention: time.Hour})
	ctx := context.Background()
	if err := st.SyncPool(ctx, "a", []int{100}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Create(ctx, Grant{Job: "1.pbs", Hosts: []string{"h1"}, Sites: []string{"a"}, TTL: time.Hour, Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, leaseKey("1.pbs"), "state", "paused").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "1.pbs"); err == nil || !strings.Contains(err.Error(), `lease 1.pbs: unknown lease state "paused"`) {
		t.Errorf("get of a lease hash in an unknown state: %v", err)
	}
	if _, err := st.List(ctx); err == nil || !strings.Contains(err.Error(), `unknown lease state "paused"`) {
		t.Errorf("list with a lease hash in an unknown state: %v", err)
	}
}

// TestResults walks one lease through the scripts and checks each typed
// answer, and that the lease hash keeps the layout existing stores have
// (docs/journal.md): sites comma-separated, hosts as JSON text.
func TestResults(t *testing.T) {
	rdb := startRedis(t)
	st := New(rdb, Policy{Hold: time.Minute, Window: time.Minute, Quarantine: time.Millisecond, Retention: time.Hour})
	ctx := context.Background()
	for _, site := range []string{"a", "b"} {
		if err := st.SyncPool(ctx, site, []int{100, 101}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SyncCore(ctx, "k", []int{100, 101}); err != nil {
		t.Fatal(err)
	}
	g := Grant{Job: "1.pbs", Hosts: []string{"h1", "h2"}, Sites: []string{"a", "b"}, Core: "k", TTL: time.Hour, Network: true, Actor: "t"}
	l, created, err := st.Create(ctx, g)
	if err != nil || !created || l.VLAN != 100 || !reflect.DeepEqual(l.Sites, g.Sites) {
		t.Fatalf("create: %+v %v %v", l, created, err)
	}
	raw, _ := rdb.HGetAll(ctx, leaseKey(g.Job)).Result()
	if raw["sites"] != "a,b" || raw["hosts"] != `["h1","h2"]` || raw["core"] != "k" || raw["state"] != "held" {
		t.Fatalf("lease hash: %v, want sites a,b, hosts as JSON and state held", raw)
	}
	if _, created, err := st.Create(ctx, g); err != nil || created {
		t.Fatalf("create again: %v %v, want the same grant", created, err)
	}
	other := g
	other.Hosts = []string{"h3"}
	if _, _, err := st.Create(ctx, other); !errors.Is(err, ErrConflict) {
		t.Fatalf("create for other hosts: %v, want ErrConflict", err)
	}

	commit := Commit{Job: g.Job, Token: l.Token, Actor: "t"}
	if res, _, err := st.BeginCommit(ctx, Commit{Job: g.Job, Token: l.Token + 1}); res != 0 || !errors.Is(err, ErrStale) {
		t.Fatalf("commit with another token: %v %v, want ErrStale", res, err)
	}
	if _, _, err := st.BeginCommit(ctx, Commit{Job: "nobody"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("commit of no lease: %v, want ErrNotFound", err)
	}
	for _, want := range []CommitResult{CommitStarted, CommitPending} {
		if res, _, err := st.BeginCommit(ctx, commit); res != want || err != nil {
			t.Fatalf("commit: %v %v, want %v", res, err, want)
		}
	}
	lock, err := st.LockSwitch(ctx, "sw", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Guard(ctx, lock, g.Job, l.Token, api.StateReleasing, api.StateCommitting); err != nil {
		t.Fatalf("guard, committing among the states: %v", err)
	}
	var se *StateError
	if err := st.Guard(ctx, lock, g.Job, l.Token, api.StateActive); !errors.As(err, &se) || se.State != api.StateCommitting {
		t.Fatalf("guard for active: %v, want the lease committing", err)
	}
	// A transaction's guard records the step as started when, and only
	// when, the write is allowed.
	if err := st.JournalBegin(ctx, &Journal{Job: g.Job, Token: l.Token, Intent: IntentApply}); err != nil {
		t.Fatal(err)
	}
	if err := st.GuardStep(ctx, lock, g.Job, "sw-refused", l.Token, api.StateActive); !errors.As(err, &se) {
		t.Fatalf("guard step for active: %v, want the lease committing", err)
	}
	if err := st.GuardStep(ctx, lock, g.Job, "sw", l.Token, api.StateCommitting); err != nil {
		t.Fatalf("guard step, committing: %v", err)
	}
	if j, err := st.JournalGet(ctx, g.Job); err != nil || len(j.Steps) != 1 || j.Steps["sw"] != StepStarted {
		t.Fatalf("journal after the guards: %+v %v, want sw started and nothing else", j, err)
	}
	if err := st.JournalEnd(ctx, g.Job); err != nil {
		t.Fatal(err)
	}
	if err := st.Unlock(ctx, lock); err != nil {
		t.Fatal(err)
	}
	if err := st.Settle(ctx, Transition{Job: g.Job, Token: l.Token, From: api.StateReleasing, To: api.StateReleased}); !errors.As(err, &se) || se.State != api.StateCommitting {
		t.Fatalf("settle from the wrong state: %v", err)
	}
	if err := st.Settle(ctx, Transition{Job: g.Job, Token: l.Token, From: api.StateCommitting, To: api.StateActive}); err != nil {
		t.Fatal(err)
	}
	if res, _, err := st.BeginCommit(ctx, commit); res != CommitActive || err != nil {
		t.Fatalf("commit of an active lease: %v %v", res, err)
	}

	// A migration to site a alone, then reverted: the hash keeps its layout.
	moved, err := st.Patch(ctx, Move{Job: g.Job, Token: l.Token, Expected: g.Hosts, Hosts: []string{"h1"}, Sites: []string{"a"}, Network: true, Actor: "t"})
	if err != nil || moved.Residue == nil || !reflect.DeepEqual(moved.Residue.Sites, []string{"b"}) {
		t.Fatalf("patch: %+v %v", moved, err)
	}
	if _, err := st.Patch(ctx, Move{Job: g.Job, Token: l.Token, Expected: []string{"h1"}, Hosts: []string{"h1", "h2"}, Sites: []string{"a", "b"}}); !errors.Is(err, ErrBusy) {
		t.Fatalf("patch during a migration: %v, want ErrBusy", err)
	}
	back, err := st.MoveRevert(ctx, StepOf(moved, "t"), l)
	if err != nil || !reflect.DeepEqual(back.Sites, g.Sites) {
		t.Fatalf("revert: %+v %v", back, err)
	}
	if err := st.MoveDone(ctx, StepOf(moved, "t")); !errors.As(err, &se) || !se.Migrated {
		t.Fatalf("done for the reverted migration: %v", err)
	}
	if err := st.MoveDone(ctx, StepOf(back, "t")); err != nil {
		t.Fatal(err)
	}
	raw, _ = rdb.HGetAll(ctx, leaseKey(g.Job)).Result()
	if raw["sites"] != "a,b" || raw["hosts"] != `["h1","h2"]` || raw["rsites"] != "" || raw["state"] != "active" {
		t.Fatalf("lease hash after the revert: %v", raw)
	}

	rel := Release{Job: g.Job, Token: l.Token, Reason: "released", Actor: "t"}
	for _, want := range []ReleaseResult{ReleaseStarted, ReleasePending} {
		if res, _, err := st.BeginRelease(ctx, rel); res != want || err != nil {
			t.Fatalf("release: %v %v, want %v", res, err, want)
		}
	}
	if _, err := st.Renew(ctx, Renewal{Job: g.Job, Token: l.Token, TTL: time.Hour}); !errors.As(err, &se) || se.State != api.StateReleasing {
		t.Fatalf("renew while releasing: %v", err)
	}
	if err := st.Settle(ctx, Transition{Job: g.Job, Token: l.Token, From: api.StateReleasing, To: api.StateReleased}); err != nil {
		t.Fatal(err)
	}
	if res, _, err := st.BeginRelease(ctx, rel); res != ReleaseEnded || err != nil {
		t.Fatalf("release of a released lease: %v %v", res, err)
	}
	if res, _, err := st.BeginCommit(ctx, commit); res != CommitEnded || err != nil {
		t.Fatalf("commit of a released lease: %v %v", res, err)
	}
}

// startRedis starts a redis-server for the test and opens a client to it.
func startRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	rdb, err := Open(config.Redis{URL: redistest.Start(t).URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
