package hooks

import (
	"context"
	"time"

	"github.com/virtcloud/virtcloud/hooks/gate"
)

// FrontEnd is one resource manager's side of a hook run. It made the
// Invocation from the manager's arguments and environment, and it does
// what only the manager can: find the job's hosts and time limit, carry out
// a failure (tell the user, cancel or requeue the job, take this node out
// of service) and choose the exit status. The shared code asks it, never
// which manager runs. Torque's is in torque.go, Slurm's in slurm.go,
// OpenPBS's in openpbs.go; the packages hooks/torque and hooks/slurm parse
// what those managers hand over.
type FrontEnd interface {
	// Manager names the manager in spool records, so that vc-periodic
	// asks it about the job later (jobStatusBy).
	Manager() string
	// Part says what this run does for its job.
	Part() Part
	// Hosts resolves the job's scheduler host names; only cluster jobs
	// call it.
	Hosts(ctx context.Context) ([]string, error)
	// Walltime is the job's time limit (0: none), asked of the manager
	// where the hook is not given it.
	Walltime(ctx context.Context) (time.Duration, error)
	// Failed carries out a prologue's failure, of the class err carries,
	// beyond what the exit status does.
	Failed(ctx context.Context, err error)
	// NodeBroken takes this node out of service where the manager lets a
	// hook do that: its configuration is broken (cause). ordinary says
	// whether the job at hand may still run here.
	NodeBroken(ctx context.Context, cause error, ordinary bool)
	// ExitCode is the prologue's exit status for a failure of class c
	// (epilogues always exit 0).
	ExitCode(c Class) int
}

// Part is what one run does for its job.
type Part struct {
	// Owner creates the lease for all the job's hosts, and releases and
	// renews it: Torque's mother superior, OpenPBS's primary MoM, the
	// Slurm controller.
	Owner bool
	// Joins waits for the lease another run creates, instead of creating
	// it (Slurm's Prolog, which may run late for a job already cancelled);
	// without host networking such a run has nothing to do.
	Joins bool
	// Announce only asks for the lease, early and at best (Torque's
	// $presetup_prologue): no failure is counted or carried out.
	Announce bool
	// Controller runs away from the job's hosts (Slurm's controller): no
	// host networking, and a spool of its own.
	Controller bool
}

// parseInvocation picks the front end: OpenPBS hooks pass --openpbs, Slurm
// is known by its environment, and anything else is pbs_mom's argv. The
// invocation it returns with an error has its front end set whenever one
// was picked, for the exit status.
func parseInvocation(p Program, env Env) (*Invocation, error) {
	switch gate.Manager(env.Args, env.Getenv) {
	case gate.OpenPBS:
		return parseOpenPBS(p, env)
	case gate.Slurm:
		return parseSlurm(p, env)
	default:
		return parseTorque(p, env)
	}
}

// jobStatus is what a manager says of a job vc-periodic renews.
type jobStatus struct {
	walltime time.Duration // 0: unknown or none
	ended    bool          // the manager says the job is over or unknown
}

// jobStatusBy asks a job's manager, by the name in the spool record, for
// its current walltime and whether it is still alive. A manager not listed
// cannot be asked (OpenPBS: its hook renews nothing itself), and then the
// job counts as alive with the walltime it started with.
var jobStatusBy = map[string]func(ctx context.Context, getenv func(string) string, job string) jobStatus{
	gate.Torque: torqueJobStatus,
	gate.Slurm:  slurmJobStatus,
}

// seconds is a time the managers' parsers (hooks/torque, hooks/slurm) give
// in seconds, as a Duration.
func seconds(s int64, err error) (time.Duration, error) {
	return time.Duration(s) * time.Second, err
}
