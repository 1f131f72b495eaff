package hooks

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/hooks/slurm"
	"github.com/virtcloud/virtcloud/hooks/torque"
)

// parseInvocation picks the front end: OpenPBS hooks pass --openpbs, Slurm
// is known by its environment, and anything else is pbs_mom's argv.
func parseInvocation(p Program, env Env) (*Invocation, error) {
	args := env.Args
	switch {
	case len(args) > 1 && args[1] == "--openpbs":
		return parseOpenPBS(p, env)
	case slurm.Detect(env.Getenv):
		return parseSlurm(p, env)
	default:
		return parseTorque(p, env)
	}
}

func parseTorque(p Program, env Env) (*Invocation, error) {
	inv := &Invocation{Manager: Torque, Program: p, Role: RoleFirst, getenv: env.Getenv}
	var a torque.Args
	var err error
	if p == Prologue {
		a, err = torque.ParsePrologue(env.Args[1:])
	} else {
		a, err = torque.ParseEpilogue(env.Args[1:])
	}
	if err != nil {
		return inv, fail(Refused, "%w", err)
	}
	inv.Job, inv.User, inv.Queue = a.Job, a.User, a.Queue
	res := torque.Resources(a.Resources)
	if other := res["other"]; IsRequest(other) {
		inv.Request = other
	}
	switch {
	case a.HostList != "":
		inv.Role = RolePresetup
	case strings.HasSuffix(filepath.Base(env.Args[0]), ".parallel"),
		env.Getenv("PBS_NODENUM") != "" && env.Getenv("PBS_NODENUM") != "0":
		inv.Role = RoleSister
	}
	inv.Walltime, err = torque.Walltime(res["walltime"])
	if err != nil && inv.Request != "" {
		return inv, fail(Refused, "torque: %w", err)
	}
	inv.Hosts = func(ctx context.Context) ([]string, error) {
		if a.HostList != "" {
			return splitHostList(a.HostList)
		}
		if nf := env.Getenv("PBS_NODEFILE"); nf != "" && inv.Role == RoleFirst {
			b, err := os.ReadFile(nf)
			if err == nil {
				if hosts := torque.NodeFile(string(b)); len(hosts) > 0 {
					return hosts, nil
				}
			}
		}
		// Sisters get no node file, and run before the first node: ask
		// the server.
		out, err := command(ctx, env.Getenv, "qstat", "-f", a.Job)
		if err != nil {
			return nil, fmt.Errorf("torque: hosts of job %s: %w", a.Job, err)
		}
		eh, ok := torque.QstatField(string(out), "exec_host")
		if !ok {
			return nil, fmt.Errorf("torque: qstat -f %s shows no exec_host", a.Job)
		}
		return torque.ExecHost(eh)
	}
	return inv, nil
}

// splitHostList reads $presetup_prologue's host list, which Torque joins by
// '+' (exec_host style) or by commas and spaces.
func splitHostList(s string) ([]string, error) {
	if strings.Contains(s, "/") {
		return torque.ExecHost(s)
	}
	return torque.ExecHost(strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == '+' || r == ',' || r == ' ' || r == '\n'
	}), "+"))
}

func parseSlurm(p Program, env Env) (*Invocation, error) {
	inv := &Invocation{Manager: Slurm, Program: p, Role: RoleNode, getenv: env.Getenv}
	e, err := slurm.Parse(env.Getenv, p == Prologue)
	inv.Job, inv.User, inv.Queue = e.Job, e.User, e.Partition
	if e.Context.Controller() {
		inv.Role = RoleController
	}
	if err != nil {
		return inv, fail(HostFault, "%w", err)
	}
	if IsRequest(e.Comment) {
		inv.Request = e.Comment
	}
	inv.Hosts = func(ctx context.Context) ([]string, error) {
		if err := e.ExpandHosts(env.Getenv); err != nil {
			return nil, err
		}
		return e.Hosts, nil
	}
	return inv, nil
}

// slurmWalltime asks scontrol for the job's time limit: Slurm does not put
// it in the environment.
func slurmWalltime(ctx context.Context, getenv func(string) string, job string) (time.Duration, string, error) {
	out, err := command(ctx, getenv, "scontrol", "-o", "show", "job", job)
	if err != nil {
		return 0, "", fmt.Errorf("slurm: %w", err)
	}
	tl, _ := slurm.JobField(string(out), "TimeLimit")
	d, err := slurm.TimeLimit(tl)
	return d, string(out), err
}

// parseOpenPBS reads the flags contrib/openpbs hooks pass:
//
//	vc-prologue --openpbs -job ID -user U -queue Q -walltime HH:MM:SS
//	            -hosts a,b -request STR [-sister]
func parseOpenPBS(p Program, env Env) (*Invocation, error) {
	inv := &Invocation{Manager: OpenPBS, Program: p, Role: RoleFirst, getenv: env.Getenv}
	fs := flag.NewFlagSet("openpbs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	job := fs.String("job", "", "job id")
	user := fs.String("user", "", "job owner")
	queue := fs.String("queue", "", "queue")
	wall := fs.String("walltime", "", "walltime [[HH:]MM:]SS")
	hosts := fs.String("hosts", "", "comma-separated execution hosts")
	req := fs.String("request", "", "request string")
	sister := fs.Bool("sister", false, "this MoM is not the job's primary")
	if err := fs.Parse(env.Args[2:]); err != nil {
		return inv, fail(HostFault, "openpbs: %w", err)
	}
	if *job == "" {
		return inv, fail(HostFault, "openpbs: -job is missing")
	}
	inv.Job, inv.User, inv.Queue = *job, *user, *queue
	if *sister {
		inv.Role = RoleSister
	}
	if IsRequest(*req) {
		inv.Request = *req
	}
	var err error
	if inv.Walltime, err = torque.Walltime(*wall); err != nil && inv.Request != "" {
		return inv, fail(Refused, "openpbs: %w", err)
	}
	inv.Hosts = func(context.Context) ([]string, error) { return splitHostList(*hosts) }
	return inv, nil
}

func jobField(out, name string) (string, bool) { return slurm.JobField(out, name) }
