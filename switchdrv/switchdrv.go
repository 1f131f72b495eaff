// Package switchdrv puts VLANs on the ports of edge switches. A Driver speaks
// one protocol (SNMP Q-BRIDGE-MIB, or SSH with a CLI dialect described as
// data). A driver is added in one place, its own package, whose init calls
// Register with its name, its settings (the driver's own keys of a
// [switches.NAME] table, which it decodes and checks itself) and its
// constructor; a binary links the drivers it serves by importing them, and
// the lease server opens them from the configuration. Imports go one way:
// drivers import switchdrv and internal/config, config learns of them only
// through the hook Register calls. A driver only changes what it is told
// to: the VLAN ranges this project manages belong to it, nothing else does.
package switchdrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
)

// Change is one batch of work on one VLAN of one switch. Ports are named as
// the operator knows them (ifName, or the device's CLI port names).
type Change struct {
	VLAN   int
	Name   string   // device-side VLAN name, already rendered from vlan_name
	Add    []string // ports that must carry the VLAN tagged
	Remove []string // ports that must stop carrying it
	// Delete removes the VLAN itself once Remove is done: no lease needs it on
	// this switch any more.
	Delete bool
}

// VLAN is what a device reports about one VLAN; the lease server's API
// answers it as it is (GET /v1/switches/{name}).
type VLAN = api.VLAN

// Driver changes and reads VLAN membership on one switch. Every method is
// idempotent: adding a port that carries the VLAN, removing one that does
// not, or deleting a VLAN that is gone all succeed.
type Driver interface {
	// Apply makes the change in as few round trips as the protocol allows.
	Apply(ctx context.Context, c Change) error
	// VLAN reads one VLAN; found is false when the device does not have it.
	VLAN(ctx context.Context, vid int) (v VLAN, found bool, err error)
	// VLANs lists the VLANs present on the device.
	VLANs(ctx context.Context) ([]VLAN, error)
	Close() error
}

// Options carries what a driver needs beyond its own configuration table.
type Options struct {
	Name   string // the switch's name in the configuration, for errors and logs
	Logger *slog.Logger
	// Managed reports whether a VLAN ID belongs to this project. A driver
	// refuses to change any other VLAN.
	Managed func(vid int) bool
}

// Registration is everything a driver brings, and all it takes to add one:
// a driver package calls Register with it from init, and a binary that
// imports the package can configure and open its switches.
type Registration struct {
	// Name is the value of `driver` in a [switches.NAME] table.
	Name string
	// Settings returns an empty value for the driver's own keys of one
	// table; the configuration decodes the table into it and has it check
	// itself, so check-config reports the driver's problems with file:line.
	Settings func() config.SwitchSettings
	// Open opens a driver for one switch; cfg.Settings is a value Settings
	// made (or one built in Go code, for tests).
	Open func(cfg *config.Switch, opts Options) (Driver, error)
}

var (
	mu       sync.RWMutex
	registry = map[string]Registration{}
)

// Register makes a driver available under its name. The configuration
// learns of its settings through config.RegisterSwitchDriver, so config
// imports no driver package.
func Register(r Registration) {
	mu.Lock()
	defer mu.Unlock()
	registry[r.Name] = r
	config.RegisterSwitchDriver(r.Name, r.Settings)
}

// Open opens the driver the configuration names.
func Open(cfg *config.Switch, opts Options) (Driver, error) {
	mu.RLock()
	r, ok := registry[cfg.Driver]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("switch %s: no driver %q is registered (known: %s)", opts.Name, cfg.Driver, strings.Join(Drivers(), ", "))
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Managed == nil {
		opts.Managed = func(int) bool { return true }
	}
	return r.Open(cfg, opts)
}

// CheckSettings runs a driver's own check on settings built outside a
// configuration file (its Open must not trust them more than a file) and
// returns the first problem as an error naming the key.
func CheckSettings(s config.SwitchSettings) error {
	var first error
	s.Check(func(key, format string, args ...any) {
		if first == nil {
			first = fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...))
		}
	})
	return first
}

// Drivers lists the registered driver names.
func Drivers() []string {
	mu.RLock()
	defer mu.RUnlock()
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Kind classifies a failure so callers can decide what to do about it.
type Kind int

const (
	// NoAnswer: the device did not answer at all (unreachable, or a wrong
	// SNMPv2c community, to which agents stay silent).
	NoAnswer Kind = iota + 1
	// CredentialsRefused: the device said the credentials are wrong (SNMPv3
	// report PDUs, SSH authentication failure, host key mismatch).
	CredentialsRefused
	// Rejected: the device answered and refused the change or the request.
	Rejected
	// TimedOut: the operation started but did not finish in time.
	TimedOut
	// BadAnswer: the device answered something the driver cannot trust
	// (an undecodable PortList, an unexpected type); nothing was written.
	BadAnswer
)

func (k Kind) String() string {
	switch k {
	case NoAnswer:
		return "no answer"
	case CredentialsRefused:
		return "credentials refused"
	case Rejected:
		return "rejected by the device"
	case TimedOut:
		return "timed out"
	case BadAnswer:
		return "unusable answer"
	}
	return "kind " + strconv.Itoa(int(k))
}

// Error is a driver failure naming the switch and, where known, the VLAN and port.
type Error struct {
	Switch string
	VLAN   int
	Port   string
	Kind   Kind
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "switch %s", e.Switch)
	if e.VLAN > 0 {
		fmt.Fprintf(&b, " vlan %d", e.VLAN)
	}
	if e.Port != "" {
		fmt.Fprintf(&b, " port %s", e.Port)
	}
	fmt.Fprintf(&b, ": %s", e.Kind)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, switchdrv.ErrNoAnswer) and friends match by kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(kindError)
	return ok && Kind(k) == e.Kind
}

type kindError Kind

func (k kindError) Error() string { return Kind(k).String() }

// Sentinels for errors.Is.
var (
	ErrNoAnswer           error = kindError(NoAnswer)
	ErrCredentialsRefused error = kindError(CredentialsRefused)
	ErrRejected           error = kindError(Rejected)
	ErrTimedOut           error = kindError(TimedOut)
	ErrBadAnswer          error = kindError(BadAnswer)
)

// KindOf returns the kind of a driver error, or 0.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// RenderName fills the vlan_name template.
func RenderName(tmpl string, vid int) string {
	return strings.ReplaceAll(tmpl, "{vid}", strconv.Itoa(vid))
}

// DefaultTimeout bounds one device operation when the configuration sets none.
const DefaultTimeout = 10 * time.Second
