package hooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/virtcloud/virtcloud/hooks/spool"
	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

// startsRetention is how long a job's count of failed starts is kept.
const startsRetention = 24 * time.Hour

// periodicRun is one vc-periodic run: no job and no front end, only the
// spools, the lease server and this host's networking.
type periodicRun struct {
	cfg *config.Config
	env Env
	api *client.Client
}

// runPeriodic delivers queued releases, renews the leases this host owns
// (the walltime may have changed) and removes host leftovers of leases that
// no longer exist. It reports every failure, and does all it can first.
func runPeriodic(ctx context.Context, env Env) error {
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	pr := &periodicRun{cfg: cfg, env: env, api: newClient(cfg.Hooks)}
	ctx, cancel := context.WithTimeout(ctx, cfg.Hooks.Budget.Duration)
	defer cancel()
	var errs []error
	for _, sp := range []spool.Dir{nodeSpool(cfg.Hooks), controllerSpool(cfg.Hooks)} {
		errs = append(errs, pr.deliverAndRenew(ctx, sp)...)
		if err := sp.PruneStarts(env.Now(), startsRetention); err != nil {
			errs = append(errs, err)
		}
	}
	if err := pr.gc(ctx); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fail(Transient, "%w", errors.Join(errs...))
	}
	return nil
}

// deliverAndRenew works through one spool: queued releases, then renewals
// of the leases it owns.
func (pr *periodicRun) deliverAndRenew(ctx context.Context, sp spool.Dir) []error {
	var errs []error
	rels, err := sp.Releases()
	if err != nil {
		errs = append(errs, err)
	}
	for _, r := range rels {
		if err := deliverRelease(ctx, pr.api, r); err != nil {
			errs = append(errs, fmt.Errorf("release job %s: %w", r.Job, err))
			continue
		}
		pr.env.Logger.Info("queued release delivered", "job", r.Job)
		if err := sp.DoneRelease(r.Job); err != nil {
			errs = append(errs, fmt.Errorf("release job %s delivered, not unqueued (sent again next time): %w", r.Job, err))
		}
	}
	jobs, err := sp.Jobs()
	if err != nil {
		errs = append(errs, err)
	}
	for _, j := range jobs {
		if j.Owner {
			if err := pr.renew(ctx, sp, j); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// renew extends a running job's lease by its current walltime (qalter and
// scontrol may have changed it) plus grace. A lease that is gone or was
// re-granted is forgotten here.
func (pr *periodicRun) renew(ctx context.Context, sp spool.Dir, j hostjob.Job) error {
	log := pr.env.Logger
	var st jobStatus // a manager that cannot be asked: alive, as it started
	if ask, ok := jobStatusBy[j.Manager]; ok {
		st = ask(ctx, pr.env.Getenv, j.Job)
	}
	if st.ended {
		// The epilogue never came (the node rebooted, the hook was
		// killed): release now rather than renew a dead job's lease.
		log.Warn("job ended without its epilogue, releasing", "job", j.Job)
		err := deliverRelease(ctx, pr.api, spool.Release{Job: j.Job, Token: j.Token, QueuedAt: pr.env.Now()})
		if err != nil {
			return fmt.Errorf("release ended job %s: %w", j.Job, err)
		}
		return errors.Join(sp.RemoveEnv(j.Job), sp.RemoveJob(j.Job))
	}
	ttl := time.Duration(j.TTLSeconds) * time.Second
	if st.walltime > 0 {
		ttl = leaseTTL(pr.cfg.Lease, st.walltime)
	}
	_, err := pr.api.Renew(ctx, j.Job, j.Token, int64(ttl.Seconds()))
	switch client.Code(err) {
	case api.CodeNotFound, api.CodeStaleToken, api.CodeBadState:
		log.Info("lease gone, forgetting job", "job", j.Job, "err", err)
		return errors.Join(sp.RemoveEnv(j.Job), sp.RemoveJob(j.Job))
	}
	if err != nil {
		return fmt.Errorf("renew job %s: %w", j.Job, err)
	}
	return nil
}

// gc removes job files and bridges of leases that ended without an
// epilogue here (vc-dom0 gc): only on the lease server's word, never when it
// cannot be asked.
func (pr *periodicRun) gc(ctx context.Context) error {
	host, err := openHost(pr.cfg, pr.env)
	if err != nil || host == nil {
		return err
	}
	jobs, err := host.Jobs(ctx)
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	var errs []error
	for _, j := range jobs {
		l, err := pr.api.Get(ctx, j.Job)
		switch {
		case client.Code(err) == api.CodeNotFound:
		case err != nil:
			errs = append(errs, fmt.Errorf("gc job %s: %w", j.Job, err))
			continue
		case l.State.Live() && (j.Token == 0 || l.Token == j.Token):
			continue
		}
		pr.env.Logger.Info("removing leftovers of an ended lease", "job", j.Job, "vlan", j.VLAN)
		if err := host.Cleanup(ctx, j.Job); err != nil {
			errs = append(errs, fmt.Errorf("gc job %s: %w", j.Job, err))
		}
		if err := nodeSpool(pr.cfg.Hooks).RemoveJob(j.Job); err != nil {
			errs = append(errs, fmt.Errorf("gc job %s: %w", j.Job, err))
		}
	}
	return errors.Join(errs...)
}
