package leasesrv

import (
	"context"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/store"
)

// Recover finishes what no worker will finish. Migrations whose window
// passed (their worker died, or a failed one left residue on the switches)
// are resumed: the devices are made to carry the lease's plan and nothing
// of its residue, then the residue is freed. Journals whose lease is no
// longer in flux are closed: a process died after its devices were done but
// before it removed the journal. Journals of committing and releasing
// leases are left to the reaper, which takes them over once their window
// has passed. Runs at start and on every reaper pass.
func (s *Service) Recover(ctx context.Context) error {
	moves, err := s.st.ClaimMoves(ctx, 64)
	if err != nil {
		return err
	}
	for _, job := range moves {
		if s.busy(job) {
			continue
		}
		if err := s.resume(ctx, job); err != nil {
			s.log.Warn("migration not finished yet; its VLAN stays reserved where it was", "job", job, "err", err)
		}
	}
	jobs, err := s.st.Journals(ctx)
	if err != nil {
		return err
	}
	for _, job := range jobs {
		if s.busy(job) {
			continue
		}
		j, err := s.st.JournalGet(ctx, job)
		if err != nil {
			return err
		}
		if j == nil {
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
		case j.Intent == store.IntentPatch:
			moving, err := s.st.Moving(ctx, job)
			if err != nil {
				return err
			}
			if moving {
				continue // ClaimMoves hands it over when its window ends
			}
		}
		if err := s.st.JournalEnd(ctx, job); err != nil {
			return err
		}
	}
	return nil
}

// busy reports whether a worker of this process is on the job.
func (s *Service) busy(job string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.working[job] != nil
}

// resume finishes one claimed migration.
func (s *Service) resume(ctx context.Context, job string) error {
	l, err := s.st.Get(ctx, job)
	if err != nil || l.State != api.StateActive {
		return err // an ended lease gave everything back; a releasing one is torn down with its residue
	}
	if err := s.net.Resume(ctx, l); err != nil {
		return err
	}
	s.log.Info("finished an interrupted migration", "job", job)
	return s.st.MoveDone(ctx, store.StepOf(l, "reaper"))
}
