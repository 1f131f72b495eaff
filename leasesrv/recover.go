package leasesrv

import (
	"context"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/store"
)

// resumer is a network that can finish a journaled migration.
type resumer interface {
	Resume(ctx context.Context, l *api.Lease, j *store.Journal) error
}

// Recover finishes journals that no worker will finish: a process died after
// its devices were done but before it removed the journal, or in the middle
// of a migration. Journals of committing and releasing leases are left to
// the reaper, which takes them over once their window has passed (their
// worker may still be alive until then). Runs at start and on every reaper
// pass.
func (s *Service) Recover(ctx context.Context) error {
	jobs, err := s.st.Journals(ctx)
	if err != nil {
		return err
	}
	for _, job := range jobs {
		s.mu.Lock()
		busy := s.working[job] != nil
		s.mu.Unlock()
		if busy {
			continue
		}
		j, err := s.st.JournalGet(ctx, job)
		if err != nil || j == nil {
			continue
		}
		l, err := s.st.Get(ctx, job)
		switch {
		case err == store.ErrNotFound || (err == nil && l.Token != j.Token):
			// The grant it belonged to is gone; its teardown, if any, was
			// journaled anew. What may remain on a device is drift.
		case err != nil:
			return err
		case l.State == api.StateCommitting || l.State == api.StateReleasing:
			continue
		case l.State == api.StateActive && j.Intent == "patch":
			r, ok := s.net.(resumer)
			if !ok {
				break
			}
			if err := r.Resume(ctx, l, j); err != nil {
				s.log.Warn("migration not finished yet", "job", job, "err", err)
				continue
			}
			s.log.Info("finished an interrupted migration", "job", job)
		}
		if err := s.st.JournalEnd(ctx, job); err != nil {
			return err
		}
	}
	return nil
}
