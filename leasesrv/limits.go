package leasesrv

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/httpapi"
)

// What a token may ask for beyond its role's verbs: how long a lease lives,
// how many it holds at once, and, for a token bound to hosts, that every
// lease it creates or changes keeps one of them.

// checkTTL refuses a lifetime above the token's limit. seconds is the
// request's ttl_seconds, 0 for the default; bounds that hold for everybody
// are checked by the service itself.
func (s *Service) checkTTL(p *principal, seconds int64) error {
	d, err := s.ttl(seconds)
	if err != nil || d <= p.maxTTL {
		return err
	}
	return forbidden(fmt.Sprintf("ttl_seconds: token %q (role %s) may ask for at most %s, not %s",
		p.name, p.role, p.maxTTL, d))
}

// counted reports whether the token's creates are bounded by a number of
// live leases (its own, or its owners').
func (s *Service) counted(p *principal) bool {
	return !p.may(actForce) && (p.maxLeases > 0 || s.cfg.Lease.MaxLeasesPerOwner > 0)
}

// checkLeaseCount refuses a new lease when the token already holds its
// most live leases, or the owner named does. The caller holds p.granting.
// The job's own live lease is not counted: asking again for it is no new
// lease.
func (s *Service) checkLeaseCount(ctx context.Context, p *principal, job, owner string) error {
	perOwner := s.cfg.Lease.MaxLeasesPerOwner
	ls, err := s.st.List(ctx)
	if err != nil {
		return err
	}
	mine, owners := 0, 0
	for _, l := range ls {
		if !l.State.Live() || l.Job == job {
			continue
		}
		if l.Owner == owner {
			owners++
		}
		if p.maxLeases > 0 && p.mayTouch(l.Hosts) {
			by, err := s.creator(ctx, l.Job)
			if err != nil {
				return err
			}
			if by == p.name {
				mine++
			}
		}
	}
	switch {
	case p.maxLeases > 0 && mine >= p.maxLeases:
		return tooMany(fmt.Sprintf("token %q already holds %d live leases, its limit (the token's max_leases, else [lease] %s_max_leases)",
			p.name, mine, p.role))
	case perOwner > 0 && owners >= perOwner:
		return tooMany(fmt.Sprintf("owner %q already holds %d live leases, the limit ([lease] max_leases_per_owner)", owner, owners))
	}
	return nil
}

// creator is the token that created a lease's current grant, from its
// history.
func (s *Service) creator(ctx context.Context, job string) (string, error) {
	ev, err := s.st.History(ctx, job)
	if err != nil {
		return "", err
	}
	for i := len(ev) - 1; i >= 0; i-- {
		if ev[i].Action == "create" {
			return ev[i].Actor, nil
		}
	}
	return "", nil
}

func tooMany(msg string) *httpapi.Error {
	return &httpapi.Error{Status: http.StatusTooManyRequests, Code: api.CodeLimit, Msg: msg}
}

// keepsOwnHost refuses a migration by a host-bound token that would leave
// the lease without any of the token's hosts: the token could no longer
// release it, and would have reached beyond its hosts. Patch applies it to
// the hosts a migration would give the lease, against the lease as the
// store then has it, so a concurrent migration cannot slip past it.
func keepsOwnHost(p *principal) func(after []string) error {
	return func(after []string) error {
		if len(p.hosts) == 0 || p.mayTouch(after) {
			return nil
		}
		return forbidden(fmt.Sprintf("token %q may only change a lease so that it keeps one of its hosts (%s); this change would leave %s",
			p.name, strings.Join(p.hosts, ", "), strings.Join(after, ", ")))
	}
}
