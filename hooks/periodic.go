package hooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/hooks/spool"
	"github.com/virtcloud/virtcloud/hooks/torque"
	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

// startsRetention is how long a job's count of failed starts is kept.
const startsRetention = 24 * time.Hour

// runPeriodic delivers queued releases, renews the leases this host owns
// (the walltime may have changed) and removes host leftovers of leases that
// no longer exist. It reports every failure, and does all it can first.
func runPeriodic(ctx context.Context, env Env) error {
	cfg, err := loadConfig(env.Getenv)
	if err != nil {
		return err
	}
	inv := &Invocation{Manager: Standalone, Program: Periodic, Role: RolePeriodic, getenv: env.Getenv}
	h := &hook{inv: inv, env: env, cfg: cfg, log: env.Logger}
	ctx, cancel := context.WithTimeout(ctx, cfg.Hooks.Budget.Duration)
	defer cancel()
	c := h.api()
	var errs []error
	for _, sp := range []spool.Dir{h.spool(), controllerSpool(cfg.Hooks)} {
		errs = append(errs, h.deliverAndRenew(ctx, c, sp)...)
		if err := sp.PruneStarts(env.Now(), startsRetention); err != nil {
			errs = append(errs, err)
		}
	}
	if err := h.gc(ctx, c); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fail(Transient, "%w", errors.Join(errs...))
	}
	return nil
}

// deliverAndRenew works through one spool: queued releases, then renewals
// of the leases it owns.
func (h *hook) deliverAndRenew(ctx context.Context, c *client.Client, sp spool.Dir) []error {
	var errs []error
	rels, err := sp.Releases()
	if err != nil {
		errs = append(errs, err)
	}
	for _, r := range rels {
		if err := deliverRelease(ctx, c, r); err != nil {
			errs = append(errs, fmt.Errorf("release job %s: %w", r.Job, err))
			continue
		}
		h.log.Info("queued release delivered", "job", r.Job)
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
			if err := h.renew(ctx, c, sp, j); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// renew extends a running job's lease by its current walltime (qalter and
// scontrol may have changed it) plus grace. A lease that is gone or was
// re-granted is forgotten here.
func (h *hook) renew(ctx context.Context, c *client.Client, sp spool.Dir, j hostjob.Job) error {
	st := h.jobStatus(ctx, j)
	if st.ended {
		// The epilogue never came (the node rebooted, the hook was
		// killed): release now rather than renew a dead job's lease.
		h.log.Warn("job ended without its epilogue, releasing", "job", j.Job)
		err := deliverRelease(ctx, c, spool.Release{Job: j.Job, Token: j.Token, QueuedAt: h.env.Now()})
		if err != nil {
			return fmt.Errorf("release ended job %s: %w", j.Job, err)
		}
		return errors.Join(sp.RemoveEnv(j.Job), sp.RemoveJob(j.Job))
	}
	ttl := time.Duration(j.TTLSeconds) * time.Second
	if st.walltime > 0 {
		ttl = h.ttl(st.walltime)
	}
	_, err := c.Renew(ctx, j.Job, j.Token, int64(ttl.Seconds()))
	switch client.Code(err) {
	case api.CodeNotFound, api.CodeStaleToken, api.CodeBadState:
		h.log.Info("lease gone, forgetting job", "job", j.Job, "err", err)
		return errors.Join(sp.RemoveEnv(j.Job), sp.RemoveJob(j.Job))
	}
	if err != nil {
		return fmt.Errorf("renew job %s: %w", j.Job, err)
	}
	return nil
}

type jobStatus struct {
	walltime time.Duration // 0: unknown or none
	ended    bool          // the manager says the job is over or unknown
}

// Terminal job states as scontrol and qstat print them.
var (
	slurmEnded  = []string{"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "TIMEOUT"}
	torqueEnded = []string{"C", "E"}
)

// jobStatus asks the job's manager for its current walltime and whether it
// is still alive. When the manager cannot be asked, the job counts as alive.
func (h *hook) jobStatus(ctx context.Context, j hostjob.Job) jobStatus {
	var st jobStatus
	switch Manager(j.Manager) {
	case Slurm:
		d, out, err := slurmWalltime(ctx, h.inv.getenv, j.Job)
		if err != nil {
			st.ended = strings.Contains(err.Error(), "Invalid job id")
			return st
		}
		state, _ := jobField(out, "JobState")
		st.walltime, st.ended = d, slices.Contains(slurmEnded, state)
	case Torque:
		out, err := command(ctx, h.inv.getenv, "qstat", "-f", j.Job)
		if err != nil {
			st.ended = strings.Contains(err.Error(), "Unknown Job Id")
			return st
		}
		if v, ok := torque.QstatField(string(out), "Resource_List.walltime"); ok {
			st.walltime, _ = torque.Walltime(v)
		}
		state, _ := torque.QstatField(string(out), "job_state")
		st.ended = slices.Contains(torqueEnded, state)
	}
	return st
}

// gc removes job files and bridges of leases that ended without an
// epilogue here (vc-dom0 gc): only on the lease server's word, never when it
// cannot be asked.
func (h *hook) gc(ctx context.Context, c *client.Client) error {
	host, err := h.openHost()
	if err != nil || host == nil {
		return err
	}
	jobs, err := host.Jobs(ctx)
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	var errs []error
	for _, j := range jobs {
		l, err := c.Get(ctx, j.Job)
		switch {
		case client.Code(err) == api.CodeNotFound:
		case err != nil:
			errs = append(errs, fmt.Errorf("gc job %s: %w", j.Job, err))
			continue
		case api.Live(l.State) && (j.Token == 0 || l.Token == j.Token):
			continue
		}
		h.log.Info("removing leftovers of an ended lease", "job", j.Job, "vlan", j.VLAN)
		if err := host.Cleanup(ctx, j.Job); err != nil {
			errs = append(errs, fmt.Errorf("gc job %s: %w", j.Job, err))
		}
		if err := h.spool().RemoveJob(j.Job); err != nil {
			errs = append(errs, fmt.Errorf("gc job %s: %w", j.Job, err))
		}
	}
	return errors.Join(errs...)
}
