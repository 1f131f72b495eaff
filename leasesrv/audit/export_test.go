package audit

import (
	"context"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/store"
)

// FixUnder makes one repair as a fix pass would, under a switch lock the
// caller holds, for the lease job with token; the test decides what changed
// between the reading and the write.
func (r *Reconciler) FixUnder(ctx context.Context, lock *store.Lock, f api.Finding, job string, token int64) error {
	drv, err := r.driver(f.Switch)
	if err != nil {
		return err
	}
	return r.fixOne(ctx, lock, drv, &f, wanted{job: job, token: token})
}

// ReadEvery sets how long a device reading of the API is shared.
func (r *Reconciler) ReadEvery(d time.Duration) { r.reads.every = d }
