package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
)

// Journal is the record of one multi-switch change of one lease, written
// before any device is touched. Steps move from started to done (or undone);
// a journal left in Redis means the change did not finish, and whoever takes
// the lease over reads it to know which switches may carry what.
type Journal struct {
	Job     string              `json:"job"`
	Token   int64               `json:"token"`
	Intent  Intent              `json:"intent"`
	VLAN    int                 `json:"vlan"`
	Plan    map[string][]string `json:"plan"`   // switch -> ports to add (apply, patch)
	Remove  map[string][]string `json:"remove"` // switch -> ports to remove (teardown, patch)
	Delete  []string            `json:"delete"` // switches where the VLAN goes away
	Started time.Time           `json:"started"`
	Steps   map[string]Step     `json:"steps"` // switch -> its step's progress
}

// Intent is what a journaled change does to the devices.
type Intent string

const (
	IntentApply    Intent = "apply"    // a commit: Plan is added
	IntentTeardown Intent = "teardown" // a release or a rollback: Remove goes, Delete loses the VLAN
	IntentPatch    Intent = "patch"    // a migration: Plan is added, then Remove goes
)

// Step is the progress of one switch's part of a journaled change, as the
// journal keeps it in step:<switch>.
type Step string

const (
	StepStarted Step = "started" // the device may carry the change, in part
	StepDone    Step = "done"    // the device confirmed the change
	StepFailed  Step = "failed"  // the device refused or did not answer
	StepUndone  Step = "undone"  // an apply's step removed again
)

func journalKey(job string) string { return Prefix + "journal:" + job }

// JournalBegin writes the intent and the plan. With WaitReplicas it returns
// only once the replicas have them, so a failover cannot lose a journal of
// devices already being changed.
func (s *Store) JournalBegin(ctx context.Context, j *Journal) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return s.journal(ctx, "begin", j.Job, string(b), "")
}

// JournalStep records a step's progress.
func (s *Store) JournalStep(ctx context.Context, job, sw string, st Step) error {
	return s.journal(ctx, "step", job, sw, string(st))
}

// JournalEnd removes a finished journal.
func (s *Store) JournalEnd(ctx context.Context, job string) error {
	return s.journal(ctx, "end", job, "", "")
}

// journal runs the journal script; with WaitReplicas the replicas must
// have the write before the caller goes on to touch a device.
func (s *Store) journal(ctx context.Context, op, job, field, value string) error {
	r, err := s.run(ctx, "journal", journalKey(job), op, job, field, value)
	if err != nil {
		return err
	}
	return okResult(r)
}

// JournalGet reads a journal; nil when there is none.
func (s *Store) JournalGet(ctx context.Context, job string) (*Journal, error) {
	m, err := s.rdb.HGetAll(ctx, journalKey(job)).Result()
	if err != nil || len(m) == 0 {
		return nil, err
	}
	var j Journal
	if err := json.Unmarshal([]byte(m["intent"]), &j); err != nil {
		return nil, fmt.Errorf("journal of %s: %w", job, err)
	}
	j.Steps = map[string]Step{}
	for k, v := range m {
		if sw, ok := strings.CutPrefix(k, "step:"); ok {
			j.Steps[sw] = Step(v)
		}
	}
	return &j, nil
}

// Journals lists the jobs with an unfinished journal.
func (s *Store) Journals(ctx context.Context) ([]string, error) {
	return s.rdb.SMembers(ctx, Prefix+"journals").Result()
}

// Lock is a per-switch lock that serialises device changes across every
// lease server sharing the store.
type Lock struct {
	key, value string
	ttl        time.Duration
}

// ErrLockLost means another process owns the switch now: stop writing.
var ErrLockLost = errors.New("switch lock lost")

// LockSwitch waits until it holds the switch's lock or ctx ends. The lock
// lives ttl (longer than a device operation) unless Guard extends it.
func (s *Store) LockSwitch(ctx context.Context, sw string, ttl time.Duration) (*Lock, error) {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails: since Go 1.24 it crashes the program instead
	l := &Lock{key: Prefix + "lock:switch:" + sw, value: hex.EncodeToString(b), ttl: ttl}
	delay := 5 * time.Millisecond
	for {
		ok, err := s.rdb.SetNX(ctx, l.key, l.value, ttl).Result()
		if err != nil {
			return nil, err
		}
		if ok {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock switch %s: %w", sw, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// Guard checks, right before a device write, that the lock is still ours and
// the lease still has token and one of states; it extends the lock.
func (s *Store) Guard(ctx context.Context, l *Lock, job string, token int64, states ...api.State) error {
	return s.guard(ctx, l, job, token, "", "", states)
}

// GuardStep is Guard for a step of a journaled transaction: when the write
// is allowed, the same script records the step of switch sw as started.
func (s *Store) GuardStep(ctx context.Context, l *Lock, job, sw string, token int64, states ...api.State) error {
	return s.guard(ctx, l, job, token, "", sw, states)
}

// GuardMove is GuardStep for a migration's writes: the lease must still be
// active and on the same migration, so a late writer of an earlier one
// cannot undo a later one.
func (s *Store) GuardMove(ctx context.Context, l *Lock, job, sw string, token, move int64) error {
	return s.guard(ctx, l, job, token, strconv.FormatInt(move, 10), sw, []api.State{api.StateActive})
}

// guard runs guard.lua; one that records a journal step waits for the
// replicas, as every journal write does (Store.run).
func (s *Store) guard(ctx context.Context, l *Lock, job string, token int64, move, sw string, states []api.State) error {
	if sw != "" {
		r, err := s.run(ctx, "guard", l.key, l.value, l.ttl, job, token, move, sw, states)
		if err != nil {
			return err // not run, or not on the replicas: no write either way
		}
		return guardResult(r)
	}
	v, err := s.eval(ctx, "guard", l.key, l.value, l.ttl, job, token, move, sw, states).Result()
	if err != nil {
		return err
	}
	return guardResult(reply{"guard", asSlice(v)})
}

// Unlock releases the lock if it is still ours.
func (s *Store) Unlock(ctx context.Context, l *Lock) error {
	return s.eval(ctx, "unlock", l.key, l.value).Err()
}
