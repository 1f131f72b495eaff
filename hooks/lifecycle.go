package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/virtcloud/virtcloud/hooks/gate"
	"github.com/virtcloud/virtcloud/hooks/request"
	"github.com/virtcloud/virtcloud/hooks/spool"
	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

// Host is this host's networking as the hooks need it, implemented over the
// dom0 package (hooks/dom0host) and faked in tests.
type Host interface {
	// Setup builds the job's bridge and writes its job file for the
	// VM-booting layer; it returns the bridge name.
	Setup(ctx context.Context, j hostjob.Job) (bridge string, err error)
	// Cleanup removes the job's file and the bridge it kept; a job with
	// nothing left here is no error.
	Cleanup(ctx context.Context, job string) error
	// Jobs lists the job files on this host.
	Jobs(ctx context.Context) ([]hostjob.Job, error)
}

// releaseBudget bounds an epilogue's talk with the lease server: past it the
// release is queued for vc-periodic and the epilogue returns.
const releaseBudget = 10 * time.Second

type hook struct {
	inv *Invocation
	env Env
	cfg *config.Config
	log *slog.Logger
}

func (h *hook) hc() *config.Hooks { return h.cfg.Hooks }

func (h *hook) part() Part { return h.inv.FrontEnd.Part() }

// spool is this run's spool. A controller keeps its own below the node's:
// on a machine that is both, PrologSlurmctld (as SlurmUser) and Prolog (as
// root) hold records for the same job.
func (h *hook) spool() spool.Dir {
	if h.part().Controller {
		return controllerSpool(h.hc())
	}
	return nodeSpool(h.hc())
}

func nodeSpool(hc *config.Hooks) spool.Dir { return spool.Dir{Path: hc.SpoolDir} }

func controllerSpool(hc *config.Hooks) spool.Dir {
	return spool.Dir{Path: filepath.Join(hc.SpoolDir, "controller")}
}

func newClient(hc *config.Hooks) *client.Client { return client.New(hc.Server, hc.Token.Reveal()) }

func (h *hook) openHost() (Host, error) {
	if h.part().Controller {
		return nil, nil
	}
	return openHost(h.cfg, h.env)
}

// openHost opens this host's networking; nil when the host has none.
func openHost(cfg *config.Config, env Env) (Host, error) {
	if cfg.Dom0 == nil || env.OpenHost == nil {
		return nil, nil
	}
	host, err := env.OpenHost(cfg.Dom0, gate.ConfigPath(env.Getenv), env.Getenv)
	if err != nil {
		return nil, fail(HostFault, "host networking: %w", err)
	}
	return host, nil
}

// prologue makes the job's cluster exist before the job starts. Every
// failure is classified; the caller maps the class to an exit code.
func (h *hook) prologue(ctx context.Context) error {
	err := h.start(ctx)
	if err == nil {
		return nil
	}
	job := h.inv.Job
	if ClassOf(err) == Transient && !h.part().Announce {
		n, serr := h.spool().AddFailedStart(job)
		if serr != nil {
			h.log.Warn("count failed start", "err", serr)
		}
		if max := h.hc().MaxFailedStarts; n >= max {
			err = fail(Refused, "job %s: %d failed starts (max_failed_starts %d), giving up: %w", job, n, max, err)
		}
	}
	h.inv.FrontEnd.Failed(ctx, err)
	return err
}

func (h *hook) start(ctx context.Context) error {
	inv, hc := h.inv, h.hc()
	ctx, cancel := context.WithTimeout(ctx, hc.Budget.Duration)
	defer cancel()
	attrs := map[string]string{}
	if inv.Request != "" {
		var err error
		if attrs, err = request.Parse(inv.Request); err != nil {
			return fail(Refused, "job %s: %w", inv.Job, err)
		}
	}
	if max := hc.MaxFailedStarts; h.spool().FailedStarts(inv.Job) >= max {
		return fail(Refused, "job %s failed to start %d times already (max_failed_starts); not trying again", inv.Job, max)
	}
	hosts, err := inv.FrontEnd.Hosts(ctx)
	if err != nil {
		return fail(Transient, "%w", err)
	}
	if len(hosts) == 0 {
		return fail(Refused, "job %s has no execution hosts", inv.Job)
	}
	walltime, err := inv.FrontEnd.Walltime(ctx)
	if err != nil {
		return fail(Transient, "%w", err)
	}
	req := client.CreateRequest{Job: inv.Job, Owner: inv.User, Hosts: hosts,
		TTLSeconds: int64(leaseTTL(h.cfg.Lease, walltime).Seconds()), Attributes: attrs}
	c := newClient(hc)
	if h.part().Announce {
		// Best effort: Torque ignores this script's status and output.
		_, _, err := c.Create(ctx, req)
		return classifyAPI(err)
	}
	l, err := h.acquire(ctx, c, req)
	if err != nil {
		return err
	}
	host, err := h.openHost()
	if err != nil {
		return err
	}
	bridge := ""
	if host != nil {
		bridge, err = host.Setup(ctx, hostjob.Job{Job: inv.Job, VLAN: l.VLAN, State: string(l.State), Token: l.Token, Server: hc.Server})
		if err != nil {
			return fail(HostFault, "job %s: bridge for VLAN %d: %w", inv.Job, l.VLAN, err)
		}
	}
	rec := hostjob.Job{Job: inv.Job, Token: l.Token, VLAN: l.VLAN, Bridge: bridge, Manager: inv.FrontEnd.Manager(),
		TTLSeconds: req.TTLSeconds, Owner: h.part().Owner}
	if err := h.spool().PutJob(rec); err != nil {
		return fail(HostFault, "%w", err)
	}
	// The job's own copy of its network (Torque's job reads the file; the
	// OpenPBS hook and Slurm's TaskProlog put it into the environment).
	env := []string{fmt.Sprintf("VIRTCLOUD_VLAN=%d", l.VLAN), "VIRTCLOUD_BRIDGE=" + bridge, "VIRTCLOUD_LEASE=" + inv.Job}
	if err := h.spool().PutEnv(inv.Job, env); err != nil {
		return fail(HostFault, "%w", err)
	}
	line := fmt.Sprintf("virtcloud: job %s cluster VLAN %d", inv.Job, l.VLAN)
	if bridge != "" {
		line += " on bridge " + bridge
	}
	fmt.Fprintln(h.env.Stdout, line)
	return nil
}

// leaseTTL is min(walltime + grace, max_ttl), or the default TTL without a
// walltime.
func leaseTTL(p config.Policy, walltime time.Duration) time.Duration {
	if walltime <= 0 {
		return p.DefaultTTL.Duration
	}
	return max(min(walltime+p.Grace.Duration, p.MaxTTL.Duration), p.MinTTL.Duration)
}

// acquire creates or gets the job's lease, commits it and waits until it is
// active, retrying transient faults (the server unreachable, say) with backoff
// until the budget ends; a network fault ends the run at once.
func (h *hook) acquire(ctx context.Context, c *client.Client, req client.CreateRequest) (*client.Lease, error) {
	backoff := 250 * time.Millisecond
	before := -1 // failed starts of earlier runs, as the first answer of this run says
	for {
		l, err := h.tryAcquire(ctx, c, req, &before)
		// A network fault already cost the job a failed start on the
		// server: requeue now rather than burn more starts in this run.
		if ClassOf(err) != Transient || client.Code(err) == api.CodeNetworkFault {
			return l, err
		}
		h.log.Info("lease not active yet, retrying", "err", err, "in", backoff)
		if h.env.Sleep(ctx, backoff) != nil {
			return nil, fail(Transient, "job %s: no active lease within the %s budget: %w", req.Job, h.hc().Budget, err)
		}
		backoff = min(2*backoff, 4*time.Second)
	}
}

// tryAcquire makes one attempt. before holds the job's failed starts when this
// run began: only earlier runs' failures may abort the job, so that retries
// inside one run end in a requeue, never in an abort.
func (h *hook) tryAcquire(ctx context.Context, c *client.Client, req client.CreateRequest, before *int) (*client.Lease, error) {
	var l *client.Lease
	var err error
	if h.part().Joins {
		// The owner creates the lease. A run that comes late must not
		// grant a new one to a job already cancelled and released.
		l, err = c.Get(ctx, req.Job)
		if err == nil && !l.State.Live() {
			err = fail(Transient, "job %s: lease is %s, waiting for the controller", req.Job, l.State)
		}
	} else {
		l, _, err = c.Create(ctx, req)
	}
	if err != nil {
		return nil, classifyAPI(err)
	}
	if *before < 0 {
		*before = l.FailedStarts
	}
	if max := h.hc().MaxFailedStarts; *before >= max {
		return nil, fail(Refused, "job %s: the network failed to start %d times (max_failed_starts %d), giving up", req.Job, *before, max)
	}
	if l.State == api.StateActive {
		return l, nil
	}
	l, err = c.WaitActive(ctx, req.Job, l.Token)
	return l, classifyAPI(err)
}

// classifyAPI sorts lease server answers: no answer, a network fault or an
// exhausted pool may pass; a bad request or a refusal will not.
func classifyAPI(err error) error {
	if err == nil {
		return nil
	}
	if client.Unreachable(err) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Class: Transient, Err: fmt.Errorf("lease server: %w", err)}
	}
	var classified *Error
	if errors.As(err, &classified) {
		return err
	}
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return &Error{Class: Transient, Err: fmt.Errorf("lease server: %w", err)}
	}
	switch {
	case ae.Status == http.StatusUnauthorized:
		return &Error{Class: HostFault, Err: fmt.Errorf("lease server refused this host's token: %w", err)}
	case ae.Code == api.CodeNotFound:
		return &Error{Class: Transient, Err: fmt.Errorf("lease server: %w", err)}
	case ae.Code == api.CodeBadRequest, ae.Code == api.CodeForbidden, ae.Code == api.CodeConflict, ae.Code == api.CodeTooLarge:
		return &Error{Class: Refused, Err: fmt.Errorf("lease server: %w", err)}
	}
	return &Error{Class: Transient, Err: fmt.Errorf("lease server: %w", err)}
}

// epilogue cleans up this host and, on the owner, releases the lease. It
// never fails: what cannot be done now is queued for vc-periodic.
func (h *hook) epilogue(ctx context.Context) error {
	job := h.inv.Job
	sp := h.spool()
	rec, found, err := sp.GetJob(job)
	if err != nil {
		h.log.Warn("read spool", "err", err)
	}
	var errs []error
	host, err := h.openHost()
	if err != nil {
		errs = append(errs, err)
	} else if host != nil {
		if err := host.Cleanup(ctx, job); err != nil {
			errs = append(errs, fmt.Errorf("job %s: local cleanup: %w", job, err))
		}
	}
	switch {
	case !h.part().Owner:
	case !found && h.requeued(job):
		// Torque and OpenPBS run the epilogue after every failed start,
		// while the requeued run may already be starting: its lease is
		// not this epilogue's to end.
		h.log.Info("failed start, the job is requeued: lease kept for its next run", "job", job)
	default:
		token := int64(0)
		if found {
			token = rec.Token
		}
		if err := h.release(ctx, job, token); err != nil {
			errs = append(errs, err)
		}
	}
	if err := sp.RemoveJob(job); err != nil {
		errs = append(errs, err)
	}
	if err := sp.RemoveEnv(job); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// requeued reports whether this run of the job failed to start here, so
// that the manager runs it again: a failed start was counted here moments
// ago. (A job deleted during its prologue counted none: its lease ends.)
func (h *hook) requeued(job string) bool {
	at := h.spool().LastFailedStart(job)
	return !at.IsZero() && h.env.Now().Sub(at) < h.hc().Budget.Duration+hardCapSlack
}

// release ends the job's lease, or queues the release when the server is
// out of reach. token 0 means unknown: the lease's current one is used.
func (h *hook) release(ctx context.Context, job string, token int64) error {
	ctx, cancel := context.WithTimeout(ctx, min(releaseBudget, h.hc().Budget.Duration))
	defer cancel()
	err := deliverRelease(ctx, newClient(h.hc()), spool.Release{Job: job, Token: token, QueuedAt: h.env.Now()})
	if err == nil {
		return nil
	}
	if ClassOf(err) != Transient {
		return err
	}
	if qerr := h.spool().QueueRelease(spool.Release{Job: job, Token: token, QueuedAt: h.env.Now()}); qerr != nil {
		return errors.Join(err, qerr)
	}
	fmt.Fprintf(h.env.Stderr, "virtcloud: job %s: lease server unreachable, release queued for vc-periodic\n", job)
	return nil
}

// deliverRelease releases one lease. A lease that is gone, already released
// or re-granted with another token needs nothing more: success.
func deliverRelease(ctx context.Context, c *client.Client, r spool.Release) error {
	token := r.Token
	if token == 0 {
		l, err := c.Get(ctx, r.Job)
		if client.Code(err) == api.CodeNotFound {
			return nil
		}
		if err != nil {
			return classifyAPI(err)
		}
		// A lease granted after the release was queued belongs to a
		// requeued run of the job: not ours to end.
		if !l.State.Live() || l.CreatedAt.After(r.QueuedAt) {
			return nil
		}
		token = l.Token
	}
	_, err := c.Release(ctx, r.Job, token)
	switch client.Code(err) {
	case api.CodeNotFound, api.CodeStaleToken, api.CodeBadState:
		return nil
	}
	if err != nil {
		return classifyAPI(err)
	}
	return nil
}

// tellOwner appends msg to a file its owner uid already has (Torque
// delivered an earlier, requeued run's output there), or creates it as
// tellUser does. It never follows a link, nor writes a file of anyone else.
func tellOwner(path, msg string, uid int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		return tellUser(path, msg, uid)
	}
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // closed again below after the write, whose close is checked
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if st, ok := info.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != uid || !info.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file of uid %d", path, uid)
	}
	if _, err := f.WriteString(msg); err != nil {
		return err
	}
	return f.Close()
}

// tellUser writes msg into a job output file the job has not opened yet.
// The path comes from the user (sbatch -o/-e) and the hook runs as
// SlurmUser, so it only creates a new file (never follows a link or touches
// an existing one) in a directory the job's owner owns, or in a sticky
// world-writable one where anybody may create files.
func tellUser(path, msg string, uid int) error {
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return err
	}
	st, ok := dir.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: cannot tell the directory's owner", path)
	}
	m := dir.Mode()
	if int(st.Uid) != uid && !(m&os.ModeSticky != 0 && m.Perm()&0o002 != 0) {
		return fmt.Errorf("%s: the directory belongs to uid %d, not the job's owner %d", path, st.Uid, uid)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(msg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
