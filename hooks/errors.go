package hooks

import (
	"errors"
	"fmt"
)

// Class is what kind of failure stopped a hook; ExitCode turns it into what
// each resource manager understands.
type Class int

const (
	// OK: the job may run (or the cleanup is done).
	OK Class = iota
	// Refused: the request is bad or the lease server refused it for good.
	// The job is aborted with a message the user sees; retrying cannot help.
	Refused
	// Transient: the lease server or the network did not answer within the
	// budget. The job is requeued; this node is healthy.
	Transient
	// HostFault: this host cannot do its part (its bridge cannot be built,
	// its configuration is unusable). The node is drained or marked.
	HostFault
	// Degraded: this host cannot run clusters (its configuration is
	// broken) and took itself out of scheduling, but the job at hand is
	// ordinary and may still run here.
	Degraded
)

func (c Class) String() string {
	switch c {
	case OK:
		return "ok"
	case Refused:
		return "refused"
	case Transient:
		return "transient"
	case HostFault:
		return "host fault"
	case Degraded:
		return "degraded"
	}
	return fmt.Sprintf("class %d", int(c))
}

// Error is a hook failure with its class.
type Error struct {
	Class Class
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(c Class, format string, args ...any) error {
	return &Error{Class: c, Err: fmt.Errorf(format, args...)}
}

func classify(c Class, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Class: c, Err: err}
}

// ClassOf returns the class of err: OK for nil, HostFault for an error that
// carries no class (an unexpected failure of this host).
func ClassOf(err error) Class {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return HostFault
}
