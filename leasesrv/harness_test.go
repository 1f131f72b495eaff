package leasesrv_test

import (
	"context"
	"sync"

	"github.com/virtcloud/virtcloud/internal/api"
)

// countingNetwork records what the lease server asked of the network; it
// stands in for the switches, which these tests are not about.
type countingNetwork struct {
	mu        sync.Mutex
	applied   map[string]int
	torn      map[string]int
	failApply error
	// gate, when set, holds every Apply until it is closed; entered is told
	// when an Apply starts waiting.
	gate, entered chan struct{}
	// moving, when set, receives each migration as it reaches the devices
	// and holds it there until the test closes release.
	moving  chan *api.Lease
	release chan struct{}
}

func newCountingNetwork() *countingNetwork {
	return &countingNetwork{applied: map[string]int{}, torn: map[string]int{}}
}

func (n *countingNetwork) Apply(_ context.Context, l *api.Lease) error {
	if n.gate != nil {
		n.entered <- struct{}{}
		<-n.gate
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failApply != nil {
		return n.failApply
	}
	n.applied[l.Job]++
	return nil
}

func (n *countingNetwork) Needed(*api.Lease) bool { return true }

func (n *countingNetwork) Move(_ context.Context, _, to *api.Lease) error {
	if n.moving != nil {
		n.moving <- to
		<-n.release
	}
	return nil
}

func (n *countingNetwork) Resume(context.Context, *api.Lease) error { return nil }

func (n *countingNetwork) Teardown(_ context.Context, l *api.Lease) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.torn[l.Job]++
	return nil
}
