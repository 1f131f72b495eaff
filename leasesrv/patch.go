package leasesrv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/plan"
	"github.com/virtcloud/virtcloud/leasesrv/store"
)

// Patch moves hosts into or out of a live lease (migration, seed DC 10).
// Only the difference is applied, against the hosts the lease has when the
// store takes it: concurrent patches both land, or one waits for the other.
// A host in a new site (or one that brings the lease onto the core) is
// accepted only where the lease's VLAN is free under the allocation rule.
// Hosts that join have the VLAN before Patch returns; what the lease leaves
// stays reserved until the switches no longer carry it (docs/journal.md).
// keep, when set, vets the hosts the lease would have (nil: any).
func (s *Service) Patch(ctx context.Context, job string, r api.PatchRequest, actor string, keep func(hosts []string) error) (*api.Lease, error) {
	if err := api.CheckJob(job); err != nil {
		return nil, badInput("job: %v", err)
	}
	if len(r.AddHosts) == 0 && len(r.RemoveHosts) == 0 {
		return nil, badInput("add_hosts and remove_hosts are both empty")
	}
	var add, remove []string
	var err error
	if len(r.AddHosts) > 0 {
		if add, err = s.resolveHosts(r.AddHosts); err != nil {
			return nil, err
		}
	}
	if len(r.RemoveHosts) > 0 {
		if remove, err = s.resolveHosts(r.RemoveHosts); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Lease.CommitTimeout.Duration)
	defer cancel()
	for {
		before, after, moving, err := s.patchStore(ctx, job, r.Token, add, remove, actor, keep)
		switch {
		case errors.Is(err, store.ErrChanged):
			continue // another patch landed first: apply the difference to its result
		case errors.Is(err, store.ErrBusy):
			// Another migration of this lease is on the switches: wait for it.
			select {
			case <-ctx.Done():
				return nil, err
			case <-time.After(100 * time.Millisecond):
			}
			continue
		case err != nil:
			return nil, err
		}
		if moving {
			if err := s.move(ctx, before, after, actor); err != nil {
				return nil, err
			}
		}
		return s.st.Get(ctx, job)
	}
}

// patchStore applies the difference to the lease as read now; the store
// refuses with ErrChanged when another patch changed it in between. moving
// says the switches must now follow.
func (s *Service) patchStore(ctx context.Context, job string, token int64, add, remove []string, actor string, keep func([]string) error) (before, after *api.Lease, moving bool, err error) {
	before, err = s.st.Get(ctx, job)
	if err != nil {
		return nil, nil, false, err
	}
	names := append(slices.Clone(before.Hosts), add...)
	names = slices.DeleteFunc(names, func(h string) bool { return slices.Contains(remove, h) })
	if len(names) == 0 {
		return nil, nil, false, badInput("remove_hosts: a lease keeps at least one host")
	}
	hosts, err := s.resolveHosts(names)
	if err != nil {
		return nil, nil, false, err
	}
	if keep != nil {
		if err := keep(hosts); err != nil {
			return nil, nil, false, err
		}
	}
	reach, err := plan.ReachOf(s.cfg, hosts, before.Attributes)
	if err != nil {
		return nil, nil, false, badInput("hosts: %v", err)
	}
	next := *before
	next.Hosts, next.Sites, next.Core, next.Residue = hosts, reach.Sites, reach.Core, nil
	network := s.net.Needed(&next) || s.net.Needed(before.Carried())
	after, err = s.st.Patch(ctx, store.Move{Job: job, Token: token, Expected: before.Hosts, Hosts: hosts, Sites: reach.Sites, Core: reach.Core,
		Network: network, Actor: actor})
	s.metrics.op("patch", err)
	if err != nil {
		return nil, nil, false, err
	}
	return before, after, network && after.State == api.StateActive, nil
}

// move takes the switches from before's plan to after's, then frees what the
// lease left. On failure the lease gets its old hosts back and whatever the
// migration reached is removed; an error on that way is reported, and the
// reaper finishes the job (Recover).
func (s *Service) move(ctx context.Context, before, after *api.Lease, actor string) error {
	err := s.net.Move(ctx, before.Carried(), after)
	if err == nil {
		return s.st.MoveDone(context.WithoutCancel(ctx), store.StepOf(after, actor))
	}
	s.log.Warn("migration failed on the switches; the lease keeps its old hosts", "job", after.Job, "vlan", after.VLAN, "err", err)
	bctx := context.WithoutCancel(ctx)
	reverted, rerr := s.st.MoveRevert(bctx, store.StepOf(after, actor), before)
	if rerr == nil {
		if rerr = s.net.Resume(bctx, reverted); rerr == nil {
			rerr = s.st.MoveDone(bctx, store.StepOf(reverted, actor))
		}
	}
	if rerr != nil {
		s.log.Error("what the failed migration left is not removed yet; the reaper retries, its VLAN stays reserved", "job", after.Job, "err", rerr)
	}
	return fmt.Errorf("%w: %v", ErrNetworkFault, errors.Join(err, rerr))
}
