// Package api holds the JSON shapes of the lease server's HTTP API, every
// endpoint's (leases and pools in api.go, switches and audits in audit.go),
// shared by the server, its Go client and vcctl, so both ends always agree.
// Only the status page's own feed (/ui/status.json) is not here: it is the
// page's view model, words and all, and lives with the page in leasesrv/ui.
package api

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// State is where a lease is in its life. On the wire (JSON) and in the
// store (Redis) it is the plain word.
type State string

// Lease states.
const (
	StateHeld       State = "held"       // VLAN reserved, network not yet configured
	StateCommitting State = "committing" // switches being configured
	StateActive     State = "active"     // every switch configured
	StateReleasing  State = "releasing"  // switches being cleaned
	StateReleased   State = "released"   // gone; the VLAN is in quarantine
	StateFailed     State = "failed"     // configuration failed or the hold timed out
)

// States are all lease states, in a lease's order of life.
var States = []State{StateHeld, StateCommitting, StateActive, StateReleasing, StateReleased, StateFailed}

// Known reports whether s is one of States. A client keeps a state it does
// not know (a newer server's) as it is, and treats it as not live.
func (s State) Known() bool { return slices.Contains(States, s) }

// Live reports whether a lease in this state owns its VLAN.
func (s State) Live() bool {
	return s == StateHeld || s == StateCommitting || s == StateActive || s == StateReleasing
}

// ParseState reads a state word; anything else is an error naming the
// valid states.
func ParseState(word string) (State, error) {
	if s := State(word); s.Known() {
		return s, nil
	}
	names := make([]string, len(States))
	for i, s := range States {
		names[i] = string(s)
	}
	return "", fmt.Errorf("unknown lease state %q (valid: %s)", word, strings.Join(names, ", "))
}

// Lease is one job's VLAN grant.
type Lease struct {
	Job   string   `json:"job"`
	Owner string   `json:"owner"`
	Hosts []string `json:"hosts"`
	Sites []string `json:"sites"`
	// Core is the L2 core whose uplinks carry the VLAN; empty for a lease
	// confined to one switch, which reaches no other site.
	Core         string            `json:"core,omitempty"`
	VLAN         int               `json:"vlan"`
	State        State             `json:"state"`
	Token        int64             `json:"token"`
	CreatedAt    time.Time         `json:"created_at"`
	ExpiresAt    time.Time         `json:"expires_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	FailedStarts int               `json:"failed_starts"`
	Attributes   map[string]string `json:"attributes"`
	// Move numbers the lease's migrations; it fences a late writer of an
	// earlier one.
	Move int64 `json:"move,omitempty"`
	// Residue is what a migration left that the switches may still carry:
	// the VLAN stays reserved there until the devices confirm it is gone.
	Residue *Residue `json:"residue,omitempty"`
	// Reason says why a lease failed or was released (expired, hold_timeout,
	// forced, released, network_fault ...).
	Reason string `json:"reason,omitempty"`
}

// Residue is the part of a lease's old reach a migration has not yet
// removed from the switches.
type Residue struct {
	Hosts []string `json:"hosts,omitempty"`
	Sites []string `json:"sites,omitempty"`
	Cores []string `json:"cores,omitempty"`
}

// Carried is the lease as the switches may carry it: its hosts, sites and
// core together with its residue. Teardown removes all of it.
func (l *Lease) Carried() *Lease {
	if l.Residue == nil {
		return l
	}
	c := *l
	c.Hosts = union(l.Hosts, l.Residue.Hosts)
	c.Sites = union(l.Sites, l.Residue.Sites)
	if c.Core == "" && len(l.Residue.Cores) > 0 {
		c.Core = l.Residue.Cores[0]
	}
	c.Residue = nil
	return &c
}

func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// CreateRequest is the body of POST /v1/leases.
type CreateRequest struct {
	Job        string            `json:"job"`
	Owner      string            `json:"owner"`
	Hosts      []string          `json:"hosts"`
	TTLSeconds int64             `json:"ttl_seconds"`
	Attributes map[string]string `json:"attributes"`
}

// TokenRequest is the body of commit and release.
type TokenRequest struct {
	Token int64 `json:"token"`
}

// RenewRequest is the body of renew.
type RenewRequest struct {
	Token      int64 `json:"token"`
	TTLSeconds int64 `json:"ttl_seconds"`
}

// PatchRequest is the body of PATCH /v1/leases/{job}: a migration.
type PatchRequest struct {
	Token       int64    `json:"token"`
	AddHosts    []string `json:"add_hosts"`
	RemoveHosts []string `json:"remove_hosts"`
}

// Pool is one site's VLAN pool as GET /v1/pools reports it.
type Pool struct {
	Site        string `json:"site"`
	Size        int    `json:"size"`
	Free        int    `json:"free"`
	Held        int    `json:"held"`
	Active      int    `json:"active"`
	Quarantined int    `json:"quarantined"`
}

// Event is one line of a lease's history.
type Event struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Result string    `json:"result"`
	Detail string    `json:"detail,omitempty"`
}

// ErrorBody is every error response: {"error":{"code","message"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail names an error by a stable code and explains it.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes.
const (
	CodeBadRequest    = "bad_request"
	CodeUnauthorized  = "unauthorized"
	CodeForbidden     = "forbidden"
	CodeNotFound      = "not_found"
	CodeConflict      = "lease_conflict"
	CodePoolExhausted = "pool_exhausted"
	CodeStaleToken    = "stale_token"
	CodeBadState      = "bad_state"
	CodeNetworkFault  = "network_fault"
	CodeUnavailable   = "store_unavailable"
	CodeStoreLost     = "store_lost" // 503: Redis lost or rolled back its data; an admin must recover it
	CodeTooLarge      = "request_too_large"
	CodeLimit         = "limit_reached" // 429: the token or owner holds its most live leases
	CodeInternal      = "internal"
)

// MaxJobLen bounds a job id. Torque ids carry the server's FQDN.
const MaxJobLen = 128

// jobRE admits job ids as the resource managers write them: Torque
// "123.server.example.org" and array jobs "123[4].server", Slurm "1234" and
// array tasks "1234_5", heterogeneous jobs "1234+0", OpenPBS "123[].server".
var jobRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._\-\[\]+@]*$`)

// CheckJob says what is wrong with a job id, or nil.
func CheckJob(job string) error {
	switch {
	case job == "":
		return fmt.Errorf("job id is empty")
	case len(job) > MaxJobLen:
		return fmt.Errorf("job id is %d characters long; at most %d", len(job), MaxJobLen)
	case !jobRE.MatchString(job):
		return fmt.Errorf("job id %q: only letters, digits and . _ - [ ] + @ are allowed, starting with a letter or digit", job)
	}
	return nil
}

// CheckText says what is wrong with a free-text value (an owner, an
// attribute), or nil: at most max bytes of printable UTF-8. Control
// characters (ESC, BEL, newlines, tabs) and other non-printable ones (bidi
// overrides, zero-width) are refused, so a value cannot forge a log line or
// drive the terminal of whoever lists the leases.
func CheckText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%d bytes long; at most %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("not valid UTF-8")
	}
	for i, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("character %q at byte %d is not printable; control and formatting characters are refused", r, i)
		}
	}
	return nil
}

// StoreRecovery is the answer of POST /v1/store/recover.
type StoreRecovery struct {
	Identity string   `json:"identity"` // the store's new identity
	Fence    int64    `json:"fence"`    // the fencing counter, never lower than before
	Orphans  []Orphan `json:"orphans"`  // VLANs found on the switches, kept out of the pools
}

// Orphan is a VLAN a switch carries in a managed range; a store recovery
// keeps it out of its site's pool (and its core's, when on an uplink) until
// it is gone from the switches and the store is recovered again.
type Orphan struct {
	Site string `json:"site"`
	Core string `json:"core,omitempty"`
	VLAN int    `json:"vlan"`
}
