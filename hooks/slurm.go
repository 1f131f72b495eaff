package hooks

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/hooks/gate"
	"github.com/virtcloud/virtcloud/hooks/slurm"
)

// slurmFront is Slurm's front end: PrologSlurmctld and EpilogSlurmctld on
// the controller own the lease; Prolog and Epilog on each node build and
// remove that node's bridge.
type slurmFront struct {
	env        slurm.Env
	controller bool
	getenv     func(string) string
	log        *slog.Logger
}

func parseSlurm(p Program, env Env) (*Invocation, error) {
	e, err := slurm.Parse(env.Getenv, p == Prologue)
	f := &slurmFront{env: e, controller: e.Context.Controller(), getenv: env.Getenv, log: env.Logger}
	inv := &Invocation{Program: p, FrontEnd: f, Job: e.Job, User: e.User, Queue: e.Partition, Request: e.Request()}
	if err != nil {
		return inv, fail(HostFault, "%w", err)
	}
	return inv, nil
}

func (f *slurmFront) Manager() string { return gate.Slurm }

func (f *slurmFront) Part() Part {
	if f.controller {
		return Part{Owner: true, Controller: true}
	}
	return Part{Joins: true}
}

func (f *slurmFront) Hosts(context.Context) ([]string, error) {
	if err := f.env.ExpandHosts(f.getenv); err != nil {
		return nil, err
	}
	return f.env.Hosts, nil
}

// Walltime asks scontrol: Slurm does not put the time limit in the
// environment.
func (f *slurmFront) Walltime(ctx context.Context) (time.Duration, error) {
	d, _, err := slurmWalltime(ctx, f.getenv, f.env.Job)
	return d, err
}

// Failed: PrologSlurmctld cannot abort a batch job by its exit status, so
// it cancels a refused job; Prolog cannot fail without draining this node,
// so it requeues a job whose lease is late, and drains the node only for a
// fault of its own.
func (f *slurmFront) Failed(ctx context.Context, err error) {
	switch c := ClassOf(err); {
	case f.controller && c == Refused:
		f.cancel(ctx, err)
	case !f.controller && c == Transient:
		f.requeue(ctx, err)
	case !f.controller && c == HostFault:
		f.drain(ctx, err)
	}
}

func (f *slurmFront) NodeBroken(ctx context.Context, cause error, _ bool) {
	if !f.controller {
		f.drain(ctx, cause)
	}
}

// ExitCode: PrologSlurmctld non-zero requeues without draining; Prolog
// non-zero drains the node, which only a host fault deserves. A refusal is
// carried out by scancel, so the hook itself succeeds.
func (f *slurmFront) ExitCode(c Class) int {
	switch {
	case c == Degraded, c == Refused:
		return 0
	case f.controller, c == HostFault:
		return 1
	default:
		return 0
	}
}

// drain takes this node out of scheduling with the reason.
func (f *slurmFront) drain(ctx context.Context, cause error) {
	_, err := command(ctx, f.getenv, "scontrol", "update", "NodeName="+f.getenv("SLURMD_NODENAME"), "State=DRAIN", "Reason="+outOfServiceNote(cause))
	if err != nil {
		f.log.Error("take this node out of service", "err", err)
	}
}

// cancel cancels a refused job and leaves the reason where the user looks:
// the job's stderr file.
func (f *slurmFront) cancel(ctx context.Context, cause error) {
	job, log := f.env.Job, f.log.With("job", f.env.Job)
	msg := fmt.Sprintf("virtcloud: job %s cancelled: %v\n", job, cause)
	if out, err := command(ctx, f.getenv, "scontrol", "-o", "show", "job", job); err == nil {
		for _, key := range []string{"StdErr", "StdOut"} {
			if p, ok := slurm.JobField(string(out), key); ok && strings.HasPrefix(p, "/") {
				uid, err := strconv.Atoi(f.getenv("SLURM_JOB_UID"))
				if err != nil {
					uid = -1 // nobody's directory
				}
				if err := tellUser(p, msg, uid); err != nil {
					log.Warn("tell the user", "file", p, "err", err)
				}
				break
			}
		}
	}
	if _, err := command(ctx, f.getenv, "scancel", job); err != nil {
		log.Error("scancel", "err", err)
	}
}

// requeue asks for a requeue from Prolog; never for a job already ending
// (a requeue would bring a cancelled job back).
func (f *slurmFront) requeue(ctx context.Context, cause error) {
	job, log := f.env.Job, f.log.With("job", f.env.Job)
	out, err := command(ctx, f.getenv, "scontrol", "-o", "show", "job", job)
	if err != nil {
		log.Error("requeue: read job state", "err", err)
		return
	}
	if st, _ := slurm.JobField(string(out), "JobState"); st != "RUNNING" && st != "CONFIGURING" {
		log.Warn("job is ending, not requeued", "state", st, "cause", cause)
		return
	}
	if _, err := command(ctx, f.getenv, "scontrol", "requeue", job); err != nil {
		log.Error("requeue", "err", err)
	}
}

// slurmWalltime asks scontrol for the job's time limit, and returns its
// whole answer too.
func slurmWalltime(ctx context.Context, getenv func(string) string, job string) (time.Duration, string, error) {
	out, err := command(ctx, getenv, "scontrol", "-o", "show", "job", job)
	if err != nil {
		return 0, "", fmt.Errorf("slurm: %w", err)
	}
	tl, _ := slurm.JobField(string(out), "TimeLimit")
	d, err := seconds(slurm.TimeLimit(tl))
	return d, string(out), err
}

// Terminal job states as scontrol prints them.
var slurmEnded = []string{"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "TIMEOUT"}

func slurmJobStatus(ctx context.Context, getenv func(string) string, job string) jobStatus {
	var st jobStatus
	d, out, err := slurmWalltime(ctx, getenv, job)
	if err != nil {
		st.ended = strings.Contains(err.Error(), "Invalid job id")
		return st
	}
	state, _ := slurm.JobField(out, "JobState")
	st.walltime, st.ended = d, slices.Contains(slurmEnded, state)
	return st
}
