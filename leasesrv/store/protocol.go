package store

// The protocol between this package and its Lua scripts, in one place.
//
// Arguments. KEYS[1] is the key the script mainly works on; ARGV[1] is
// always the key prefix, then the script's own arguments in the order its
// header comment lists them. argv encodes them, one way for all scripts: a
// time.Duration as whole milliseconds, a bool as 1 or 0, an integer in
// decimal, a string or lease state as it is, and a list ([]string,
// []api.State or []int) as one ARGV entry per element. A list is always a
// script's last argument, read with rest(i) in common.lua, so no element is
// ever split or escaped. Host lists are the one exception: a lease keeps
// its hosts as JSON text, which create.lua and patch.lua compare byte for
// byte, so they travel as that text (hostsJSON).
//
// Answers. A script that decides something answers a list whose first
// element is a word: one of the words below or a lease state (api.State;
// a word Go does not know is never taken for one). Every script's answer
// has one decoder (begun, settled, patchResult ...) that turns the words
// that script may say into a Go value or error, and any other answer into
// an *AnswerError naming the script.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
)

// argv encodes a script's arguments after the prefix (see above).
func argv(args ...any) []any {
	out := make([]any, 1, len(args)+1)
	out[0] = Prefix
	for i, a := range args {
		if i < len(args)-1 {
			switch a.(type) {
			case []string, []api.State, []int:
				panic(fmt.Sprintf("store: argument %d is a list but not the last one", i))
			}
		}
		switch v := a.(type) {
		case time.Duration:
			out = append(out, strconv.FormatInt(v.Milliseconds(), 10))
		case bool:
			out = append(out, flag(v))
		case string, int, int64:
			out = append(out, v)
		case api.State:
			out = append(out, string(v))
		case []string:
			for _, e := range v {
				out = append(out, e)
			}
		case []api.State:
			for _, e := range v {
				out = append(out, string(e))
			}
		case []int:
			for _, e := range v {
				out = append(out, e)
			}
		default:
			panic(fmt.Sprintf("store: no script encoding for %T", a))
		}
	}
	return out
}

// hostsJSON is a host list as a lease keeps it: JSON text, [] when empty.
func hostsJSON(hosts []string) string {
	if hosts == nil {
		hosts = []string{}
	}
	b, _ := json.Marshal(hosts) // a []string always marshals
	return string(b)
}

// word is the first element of a script's answer.
type word string

// The words scripts answer besides lease states.
const (
	wordOK        word = "ok"
	wordStarted   word = "started"   // the caller now does the device work
	wordCreated   word = "created"   // a new grant
	wordExists    word = "exists"    // the job's live grant, unchanged
	wordConflict  word = "conflict"  // someone else holds it
	wordExhausted word = "exhausted" // no VLAN free where it is needed
	wordNotFound  word = "not_found" // no such lease
	wordStale     word = "stale"     // not the lease's current token
	wordMoved     word = "moved"     // the lease moved on; the next element says where
	wordBusy      word = "busy"      // another migration is on the switches
	wordChanged   word = "changed"   // the hosts changed since the caller read them
	wordLockLost  word = "lock_lost" // the switch lock is someone else's now
)

// AnswerError is an answer a script is not known to give: this package and
// the scripts Redis runs disagree.
type AnswerError struct {
	Script string
	Answer any
}

func (e *AnswerError) Error() string {
	return fmt.Sprintf("%s.lua: unexpected answer %v", e.Script, e.Answer)
}

// reply is one script's answer.
type reply struct {
	script string
	raw    []any
}

func (r reply) word() word { return word(r.arg(0)) }

// state is element i as a lease state; "" when it is none.
func (r reply) state(i int) api.State {
	if s := api.State(r.arg(i)); s.Known() {
		return s
	}
	return ""
}

// arg is element i as a string; "" when there is none.
func (r reply) arg(i int) string {
	if i >= len(r.raw) {
		return ""
	}
	s, _ := r.raw[i].(string)
	return s
}

func (r reply) unexpected() error { return &AnswerError{Script: r.script, Answer: r.raw} }

// lease decodes the flat HGETALL list at element i.
func (r reply) lease(i int) (*api.Lease, error) {
	if i >= len(r.raw) {
		return nil, r.unexpected()
	}
	flat := asSlice(r.raw[i])
	m := make(map[string]string, len(flat)/2)
	for k := 0; k+1 < len(flat); k += 2 {
		m[str(flat, k)] = str(flat, k+1)
	}
	l, err := decode(m)
	if err != nil {
		return nil, fmt.Errorf("%s.lua: %w", r.script, err)
	}
	return l, nil
}

// refused is the answer of a script that found no lease or another token.
func (r reply) refused() error {
	switch r.word() {
	case wordNotFound:
		return ErrNotFound
	case wordStale:
		return ErrStale
	}
	return nil
}

// Words that follow "moved" besides a lease state.
const (
	movedAgain word = "migrated again" // a later migration fences this one out
	movedGone  word = "gone"           // the lease has no state (guard.lua)
)

// moved decodes a "moved" answer: where the lease is now.
func (r reply) moved() error {
	if st := r.state(1); st != "" {
		return &StateError{State: st}
	}
	switch word(r.arg(1)) {
	case movedAgain:
		return &StateError{Migrated: true}
	case movedGone:
		return ErrNotFound
	}
	return r.unexpected()
}

// createResult decodes create.lua's answer: whether the grant is new.
func createResult(r reply) (created bool, err error) {
	switch r.word() {
	case wordCreated:
		return true, nil
	case wordExists:
		return false, nil
	case wordConflict:
		return false, ErrConflict
	case wordExhausted:
		return false, ErrExhausted
	}
	return false, r.unexpected()
}

// CommitResult is what BeginCommit found.
type CommitResult int

const (
	// CommitStarted: held -> committing; the caller configures the devices now.
	CommitStarted CommitResult = iota + 1
	// CommitPending: already committing; another worker configures them.
	CommitPending
	// CommitActive: active, at once for a lease with nothing to configure,
	// or committed before.
	CommitActive
	// CommitFailed: the lease failed before.
	CommitFailed
	// CommitEnded: releasing or released; too late to commit.
	CommitEnded
)

// commitStates maps the state commit.lua found the lease in.
var commitStates = map[api.State]CommitResult{
	api.StateCommitting: CommitPending,
	api.StateActive:     CommitActive,
	api.StateFailed:     CommitFailed,
	api.StateReleasing:  CommitEnded,
	api.StateReleased:   CommitEnded,
}

// ReleaseResult is what BeginRelease found.
type ReleaseResult int

const (
	// ReleaseStarted: -> releasing; the caller tears the devices down now.
	ReleaseStarted ReleaseResult = iota + 1
	// ReleasePending: already releasing; another worker tears them down.
	ReleasePending
	// ReleaseEnded: released (now, for a lease with nothing on any device,
	// or before) or failed; nothing is left to do.
	ReleaseEnded
)

// releaseStates maps the state release.lua found the lease in.
var releaseStates = map[api.State]ReleaseResult{
	api.StateReleasing: ReleasePending,
	api.StateReleased:  ReleaseEnded,
	api.StateFailed:    ReleaseEnded,
}

// begun decodes the answer of commit.lua and release.lua: started (the
// caller now does the device work) or the state the lease is in, which
// byState maps to a result; with the lease.
func begun[T ~int](r reply, started T, byState map[api.State]T) (T, *api.Lease, error) {
	if err := r.refused(); err != nil {
		return 0, nil, err
	}
	res, ok := byState[r.state(0)]
	if r.word() == wordStarted {
		res, ok = started, true
	}
	if !ok {
		return 0, nil, r.unexpected()
	}
	l, err := r.lease(1)
	return res, l, err
}

// settled decodes the answer of settle.lua, movedone.lua and
// moverevert.lua: ok, or where the lease moved instead.
func settled(r reply) error {
	if err := r.refused(); err != nil {
		return err
	}
	switch r.word() {
	case wordOK:
		return nil
	case wordMoved:
		return r.moved()
	}
	return r.unexpected()
}

// renewResult decodes renew.lua's answer: the lease, or the state that
// allows no renewal.
func renewResult(r reply) (*api.Lease, error) {
	if err := r.refused(); err != nil {
		return nil, err
	}
	if r.word() == wordOK {
		return r.lease(1)
	}
	if st := r.state(0); st != "" {
		return nil, &StateError{State: st}
	}
	return nil, r.unexpected()
}

// patchResult decodes patch.lua's answer.
func patchResult(r reply) (*api.Lease, error) {
	if err := r.refused(); err != nil {
		return nil, err
	}
	switch r.word() {
	case wordOK:
		return r.lease(1)
	case wordExhausted:
		return nil, fmt.Errorf("%w: the lease's VLAN is taken at %s", ErrExhausted, r.arg(1))
	case wordBusy:
		return nil, ErrBusy
	case wordChanged:
		return nil, ErrChanged
	}
	if st := r.state(0); st != "" {
		return nil, &StateError{State: st}
	}
	return nil, r.unexpected()
}

// guardResult decodes guard.lua's answer.
func guardResult(r reply) error {
	switch r.word() {
	case wordOK:
		return nil
	case wordLockLost:
		return ErrLockLost
	case wordStale:
		return ErrStale
	case wordMoved:
		return r.moved()
	}
	return r.unexpected()
}

// adoptResult decodes adopt.lua's answer: the job that already holds the
// VLAN on the core, if any.
func adoptResult(r reply) (string, error) {
	switch r.word() {
	case wordOK:
		return "", nil
	case wordConflict:
		return r.arg(1), nil
	}
	return "", r.unexpected()
}

// okResult decodes the answer of a script that only ever says ok.
func okResult(r reply) error {
	if r.word() != wordOK {
		return r.unexpected()
	}
	return nil
}
