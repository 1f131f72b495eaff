package hooks

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/hooks/gate"
	"github.com/virtcloud/virtcloud/hooks/torque"
)

// torqueFront is Torque's front end: pbs_mom runs prologue (the mother
// superior), prologue.parallel (a sister) and, when configured,
// $presetup_prologue with every host of the job; the epilogues likewise.
type torqueFront struct {
	job, user        string
	hostList         string
	sister, presetup bool
	walltime         time.Duration
	getenv           func(string) string
	hostname         func() (string, error)
	log              *slog.Logger
}

func parseTorque(p Program, env Env) (*Invocation, error) {
	f := &torqueFront{getenv: env.Getenv, hostname: env.Hostname, log: env.Logger}
	inv := &Invocation{Program: p, FrontEnd: f}
	a, err := torque.Parse(env.Args[1:], p == Prologue)
	if err != nil {
		return inv, fail(Refused, "%w", err)
	}
	inv.Job, inv.User, inv.Queue, inv.Request = a.Job, a.User, a.Queue, a.Request()
	f.job, f.user, f.hostList = a.Job, a.User, a.HostList
	switch {
	case a.HostList != "":
		f.presetup = true
	case strings.HasSuffix(filepath.Base(env.Args[0]), ".parallel"),
		env.Getenv("PBS_NODENUM") != "" && env.Getenv("PBS_NODENUM") != "0":
		f.sister = true
	}
	f.walltime, err = seconds(torque.Walltime(torque.Resources(a.Resources)["walltime"]))
	if err != nil && inv.Request != "" {
		return inv, fail(Refused, "torque: %w", err)
	}
	return inv, nil
}

func (f *torqueFront) Manager() string { return gate.Torque }

func (f *torqueFront) Part() Part {
	return Part{Owner: !f.sister && !f.presetup, Announce: f.presetup}
}

func (f *torqueFront) Hosts(ctx context.Context) ([]string, error) {
	if f.hostList != "" {
		return splitHostList(f.hostList)
	}
	if nf := f.getenv("PBS_NODEFILE"); nf != "" && !f.sister {
		b, err := os.ReadFile(nf)
		if err == nil {
			if hosts := torque.NodeFile(string(b)); len(hosts) > 0 {
				return hosts, nil
			}
		}
	}
	// Sisters get no node file, and run before the first node: ask the
	// server.
	out, err := command(ctx, f.getenv, "qstat", "-f", f.job)
	if err != nil {
		return nil, fmt.Errorf("torque: hosts of job %s: %w", f.job, err)
	}
	eh, ok := torque.QstatField(string(out), "exec_host")
	if !ok {
		return nil, fmt.Errorf("torque: qstat -f %s shows no exec_host", f.job)
	}
	return torque.ExecHost(eh)
}

func (f *torqueFront) Walltime(context.Context) (time.Duration, error) { return f.walltime, nil }

// Failed: the mother superior tells the user why the job was aborted, or
// takes the node out when the fault is its own. Sisters fail by exit status
// only: Torque marks a sister down after three failures.
func (f *torqueFront) Failed(ctx context.Context, err error) {
	if f.sister || f.presetup {
		return
	}
	switch ClassOf(err) {
	case Refused:
		f.tellUser(ctx, err)
	case HostFault:
		f.takeOut(ctx, err)
	}
}

func (f *torqueFront) NodeBroken(ctx context.Context, cause error, ordinary bool) {
	if f.sister && !ordinary {
		return // Torque marks a failing sister down itself
	}
	f.takeOut(ctx, cause)
}

// ExitCode: 1 aborts the job; anything else requeues it at once. A sister
// that fails three times is marked down, so a sister only fails for faults
// of its own. Torque ignores a presetup prologue's status.
func (f *torqueFront) ExitCode(c Class) int {
	switch {
	case f.presetup, c == Degraded:
		return 0 // Degraded: the node was taken out by the hook itself
	case f.sister && c == HostFault:
		return 2
	case f.sister:
		return 0
	case c == Refused:
		return 1
	default:
		return 2
	}
}

// takeOut marks this node offline with the reason as note (pbsnodes -o),
// for the name pbs_mom knows it by as the mother superior.
func (f *torqueFront) takeOut(ctx context.Context, cause error) {
	name := f.getenv("PBS_MSHOST")
	if name == "" || f.sister {
		name, _ = f.hostname()
	}
	if _, err := command(ctx, f.getenv, "pbsnodes", "-o", "-N", outOfServiceNote(cause), name); err != nil {
		f.log.Error("take this node out of service", "err", err)
	}
}

// tellUser leaves the reason of an aborted job in its error file: pbs_mom
// delivers no output of a job whose prologue aborted it (it stays in the
// mom's spool), so the user would learn nothing.
func (f *torqueFront) tellUser(ctx context.Context, cause error) {
	log := f.log.With("job", f.job)
	out, err := command(ctx, f.getenv, "qstat", "-f", f.job)
	if err != nil {
		log.Info("tell the user: qstat", "err", err)
		return
	}
	p, ok := torque.QstatField(string(out), "Error_Path")
	if _, path, found := strings.Cut(p, ":"); found {
		p = path
	}
	if !ok || !strings.HasPrefix(p, "/") {
		return
	}
	uid := -1
	if u, err := user.Lookup(f.user); err == nil {
		uid, _ = strconv.Atoi(u.Uid)
	}
	if err := tellOwner(p, fmt.Sprintf("virtcloud: job %s aborted: %v\n", f.job, cause), uid); err != nil {
		log.Info("tell the user", "file", p, "err", err)
	}
}

// splitHostList reads a host list that Torque ($presetup_prologue) or the
// OpenPBS hook joins by '+' (exec_host style) or by commas and spaces.
func splitHostList(s string) ([]string, error) {
	if strings.Contains(s, "/") {
		return torque.ExecHost(s)
	}
	return torque.ExecHost(strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == '+' || r == ',' || r == ' ' || r == '\n'
	}), "+"))
}

// Terminal job states as qstat prints them.
var torqueEnded = []string{"C", "E"}

func torqueJobStatus(ctx context.Context, getenv func(string) string, job string) jobStatus {
	var st jobStatus
	out, err := command(ctx, getenv, "qstat", "-f", job)
	if err != nil {
		st.ended = strings.Contains(err.Error(), "Unknown Job Id")
		return st
	}
	if v, ok := torque.QstatField(string(out), "Resource_List.walltime"); ok {
		st.walltime, _ = seconds(torque.Walltime(v))
	}
	state, _ := torque.QstatField(string(out), "job_state")
	st.ended = slices.Contains(torqueEnded, state)
	return st
}
