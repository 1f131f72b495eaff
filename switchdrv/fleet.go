package switchdrv

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/virtcloud/virtcloud/internal/config"
)

// Fleet is the configured switches, each driver opened on first use and then
// shared: the lease server's transactions and its reconciler both go through
// one Fleet, so a device sees one session, not one per part of the server.
type Fleet struct {
	cfg *config.Config
	log *slog.Logger

	mu      sync.Mutex
	drivers map[string]Driver
}

// NewFleet opens nothing yet; drivers open lazily, on first use of each switch.
func NewFleet(cfg *config.Config, log *slog.Logger) *Fleet {
	return &Fleet{cfg: cfg, log: log, drivers: map[string]Driver{}}
}

// Driver returns the open driver of a configured switch.
func (f *Fleet) Driver(name string) (Driver, error) {
	f.mu.Lock()
	d := f.drivers[name]
	f.mu.Unlock()
	if d != nil {
		return d, nil
	}
	sw := f.cfg.Switches[name]
	if sw == nil {
		return nil, fmt.Errorf("no switch %q in the configuration", name)
	}
	// Outside the lock: the first steps of a transaction open their
	// switches' drivers in parallel, and a site's pool is thousands of
	// VLANs to expand.
	pool := f.cfg.SitePool(sw.Site)
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.drivers[name]; d != nil {
		return d, nil
	}
	d, err := Open(sw, Options{Name: name, Logger: f.log,
		Managed: func(vid int) bool { _, ok := slices.BinarySearch(pool, vid); return ok }})
	if err != nil {
		return nil, err
	}
	f.drivers[name] = d
	return d, nil
}

// Managed reports whether a VLAN belongs to VirtCloud on a switch: it is in
// the pool of the switch's site.
func (f *Fleet) Managed(sw string, vid int) bool {
	s := f.cfg.Switches[sw]
	if s == nil {
		return false
	}
	_, ok := slices.BinarySearch(f.cfg.SitePool(s.Site), vid)
	return ok
}

// Close closes every open driver.
func (f *Fleet) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, d := range f.drivers {
		if err := d.Close(); err != nil {
			f.log.Warn("closing switch driver", "switch", name, "err", err)
		}
		delete(f.drivers, name)
	}
}
