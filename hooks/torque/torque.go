// Package torque reads what pbs_mom hands to a prologue or epilogue: the
// positional arguments, the requested resources string, the node file and
// the exec_host line of `qstat -f`. It only parses; the hooks package
// decides what to do. The hooks' gate links it for every ordinary job, so
// it builds its messages without fmt and gives times in seconds without the
// time package: their initialisers (and os's, under fmt) would cost each
// such job a tenth of a program start.
package torque

import (
	"errors"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/hooks/request"
)

// Args are a prologue's or epilogue's positional arguments. Unset arguments
// are empty strings, as pbs_mom passes them.
type Args struct {
	Job       string
	User      string
	Group     string
	JobName   string
	Resources string // requested: "nodes=2:ppn=1,walltime=00:00:30,..."
	Queue     string
	Account   string
	Script    string
	// Epilogue only.
	Session    string
	Used       string
	ExitStatus string
	// HostList is the 9th argument of $presetup_prologue: every host of the job.
	HostList string
}

// Parse reads a prologue's argv[1:] (ParsePrologue) or an epilogue's
// (ParseEpilogue).
func Parse(args []string, prologue bool) (Args, error) {
	if prologue {
		return ParsePrologue(args)
	}
	return ParseEpilogue(args)
}

// Request is the job's request string, given as `-l other=vcluster...`
// ("" when it has none).
func (a Args) Request() string {
	if other := Resources(a.Resources)["other"]; request.Is(other) {
		return other
	}
	return ""
}

// ParsePrologue reads prologue argv[1:]: 7 or 8 arguments, or 9 when run as
// $presetup_prologue.
func ParsePrologue(args []string) (Args, error) {
	if n := len(args); n < 7 || n > 9 {
		return Args{}, errors.New("torque prologue: got " + strconv.Itoa(n) + " arguments, want 7 or 8 (9 as presetup_prologue)")
	}
	a := Args{Job: args[0], User: args[1], Group: args[2], JobName: args[3],
		Resources: args[4], Queue: args[5], Account: args[6]}
	if len(args) > 7 {
		a.Script = args[7]
	}
	if len(args) > 8 {
		a.HostList = args[8]
	}
	return a, checkJob(a.Job)
}

// ParseEpilogue reads epilogue argv[1:]: 10 or 11 arguments.
func ParseEpilogue(args []string) (Args, error) {
	if n := len(args); n != 10 && n != 11 {
		return Args{}, errors.New("torque epilogue: got " + strconv.Itoa(n) + " arguments, want 10 or 11")
	}
	a := Args{Job: args[0], User: args[1], Group: args[2], JobName: args[3], Session: args[4],
		Resources: args[5], Used: args[6], Queue: args[7], Account: args[8], ExitStatus: args[9]}
	if len(args) > 10 {
		a.Script = args[10]
	}
	return a, checkJob(a.Job)
}

func checkJob(job string) error {
	if job == "" {
		return errors.New("torque: the job id (argument 1) is empty")
	}
	return nil
}

// Resources splits a resource list such as
// "nodes=2:ppn=1,walltime=00:00:30,other=vcluster:image=x" into its keys.
// A key without a value maps to "".
func Resources(s string) map[string]string {
	m := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(item, "=")
		if k = strings.TrimSpace(k); k != "" {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// Walltime parses Torque's [[[DD:]HH:]MM:]SS, or plain seconds, into
// seconds.
func Walltime(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	f := strings.Split(s, ":")
	if len(f) > 4 {
		return 0, errors.New("walltime " + strconv.Quote(s) + ": expected [[[DD:]HH:]MM:]SS")
	}
	mult := []int64{1, 60, 3600, 86400}
	var secs int64
	for i := range f {
		p := f[len(f)-1-i]
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v < 0 || p == "" || len(p) > 9 {
			return 0, errors.New("walltime " + strconv.Quote(s) + ": " + strconv.Quote(p) + " is not a number of " + []string{"seconds", "minutes", "hours", "days"}[i])
		}
		secs += v * mult[i]
	}
	if secs > int64(10*365*24*3600) {
		return 0, errors.New("walltime " + strconv.Quote(s) + ": more than ten years")
	}
	return secs, nil
}

// NodeFile reads $PBS_NODEFILE: one line per slot, so hosts repeat. The
// result keeps first-seen order without repeats.
func NodeFile(content string) []string {
	var hosts []string
	seen := map[string]bool{}
	for line := range strings.Lines(content) {
		h := strings.TrimSpace(line)
		if h != "" && !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// ExecHost parses "hostA/0+hostB/0-3,5" (also the presetup host list,
// which separates hosts by '+' or ',') into host names without repeats.
func ExecHost(s string) ([]string, error) {
	var hosts []string
	seen := map[string]bool{}
	for _, part := range strings.Split(s, "+") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		host, slots, hasSlots := strings.Cut(part, "/")
		if host == "" || strings.ContainsAny(host, " \t,=") {
			return nil, errors.New("exec_host " + strconv.Quote(s) + ": bad host entry " + strconv.Quote(part))
		}
		if hasSlots && strings.Trim(slots, "0123456789-,") != "" {
			return nil, errors.New("exec_host " + strconv.Quote(s) + ": bad slot list in " + strconv.Quote(part))
		}
		if !seen[host] {
			seen[host] = true
			hosts = append(hosts, host)
		}
	}
	return hosts, nil
}

// QstatField returns one attribute of `qstat -f` output, joining the
// tab-indented continuation lines qstat wraps long values into.
func QstatField(out, name string) (string, bool) {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		k, v, ok := strings.Cut(strings.TrimSpace(l), " = ")
		if !ok || k != name || strings.HasPrefix(l, "\t") {
			continue
		}
		val := v
		for _, c := range lines[i+1:] {
			if !strings.HasPrefix(c, "\t") {
				break
			}
			val += strings.TrimSpace(c)
		}
		return val, true
	}
	return "", false
}
