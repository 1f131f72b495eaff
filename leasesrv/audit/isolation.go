package audit

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/isolation"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// Isolation reads every switch's VLAN table (the managed VLANs only) and
// checks, with the topology in the configuration, that no L2 network joins
// two clusters and that every active cluster is one network. A switch that
// cannot be read is named in the answer: the check is then incomplete.
func (r *Reconciler) Isolation(ctx context.Context) (*api.Isolation, error) {
	leases, err := r.st.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("isolation: read leases: %w", err)
	}
	tables := isolation.Tables{}
	unread := map[string]string{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(r.cfg.Server.Parallel, 1))
	for _, name := range slices.Sorted(maps.Keys(r.cfg.Switches)) {
		g.Go(func() error {
			vlans, err := r.VLANs(gctx, name, 0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				unread[name] = err.Error()
				return nil
			}
			tables[name] = slices.DeleteFunc(vlans, func(v switchdrv.VLAN) bool { return !r.fleet.Managed(name, v.ID) })
			return nil
		})
	}
	_ = g.Wait() // an unread switch is in unread; the goroutines return nil
	rep := &api.Isolation{At: time.Now().UTC(), Checked: isolation.VLANs(tables), Findings: isolation.Check(r.cfg, tables, leases)}
	if rep.Findings == nil {
		rep.Findings = []api.IsolationFinding{}
	}
	if len(unread) > 0 {
		rep.Unread = unread
	}
	r.metrics.isolation(len(rep.Findings))
	return rep, nil
}
