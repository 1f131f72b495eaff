package leasesrv

import (
	"context"
	"fmt"
	"slices"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/plan"
)

// Patch moves hosts into or out of a live lease (migration, seed DC 10). A
// host in a new site is accepted only when the lease's VLAN is free there.
// Hosts that join have the VLAN before Patch returns.
func (s *Service) Patch(ctx context.Context, job string, r api.PatchRequest, actor string) (*api.Lease, error) {
	if err := api.CheckJob(job); err != nil {
		return nil, badInput("job: %v", err)
	}
	if len(r.AddHosts) == 0 && len(r.RemoveHosts) == 0 {
		return nil, badInput("add_hosts and remove_hosts are both empty")
	}
	l, err := s.st.Get(ctx, job)
	if err != nil {
		return nil, err
	}
	names := slices.Clone(l.Hosts)
	if len(r.AddHosts) > 0 {
		add, err := s.resolveHosts(r.AddHosts)
		if err != nil {
			return nil, err
		}
		names = append(names, add...)
	}
	if len(r.RemoveHosts) > 0 {
		remove, err := s.resolveHosts(r.RemoveHosts)
		if err != nil {
			return nil, err
		}
		names = slices.DeleteFunc(names, func(h string) bool { return slices.Contains(remove, h) })
	}
	hosts, err := s.resolveHosts(names)
	if err != nil {
		return nil, badInput("remove_hosts: a lease keeps at least one host")
	}
	sites := plan.Sites(s.cfg, hosts, l.Attributes)
	next := *l
	next.Hosts, next.Sites = hosts, sites
	// The store first: it reserves the VLAN at new sites (or refuses), and
	// checks the token, before any device is touched.
	if err := s.st.Patch(ctx, job, r.Token, hosts, sites, s.net.Needed(&next) || s.net.Needed(l), actor); err != nil {
		return nil, err
	}
	if l.State == api.StateActive {
		if err := s.net.Move(ctx, l, &next); err != nil {
			s.st.Patch(context.WithoutCancel(ctx), job, r.Token, l.Hosts, l.Sites, s.net.Needed(l), actor)
			return nil, fmt.Errorf("%w: %v", ErrNetworkFault, err)
		}
	}
	return s.st.Get(ctx, job)
}
