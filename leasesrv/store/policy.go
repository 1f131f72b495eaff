package store

import (
	"time"

	"github.com/virtcloud/virtcloud/internal/config"
)

// Policy is what a store applies to every lease it changes. It is fixed
// when the store is built, so no call can pass a quarantine or a window that
// differs from the next one's.
type Policy struct {
	// Hold is how long a granted lease may wait for its commit.
	Hold time.Duration
	// Window is how long a worker may take over a commit, a teardown or a
	// migration before the reaper of any server takes the work over.
	Window time.Duration
	// Quarantine is how long a freed VLAN waits before it is granted again.
	Quarantine time.Duration
	// Retention is how long an ended lease and its history are kept.
	Retention time.Duration
	// WaitReplicas > 0 makes every change wait for that many replicas, at
	// most WaitTimeout.
	WaitReplicas int
	WaitTimeout  time.Duration
	// Now, when set, replaces the Redis server's clock (tests).
	Now func() time.Time
}

// PolicyOf is the policy a configuration sets. The window is the commit
// budget plus two device timeouts: one to finish the last write, one to
// undo it.
func PolicyOf(c *config.Config) Policy {
	return Policy{
		Hold:         c.Lease.HoldTimeout.Duration,
		Window:       c.Lease.CommitTimeout.Duration + 2*c.Server.SwitchTimeout.Duration,
		Quarantine:   c.Lease.Quarantine.Duration,
		Retention:    c.Lease.HistoryRetention.Duration,
		WaitReplicas: c.Redis.WaitReplicas,
		WaitTimeout:  c.Redis.WaitTimeout.Duration,
	}
}
