// Package slurm reads what slurmctld and slurmd hand to PrologSlurmctld,
// EpilogSlurmctld, Prolog and Epilog: environment variables only, no
// arguments, no PATH. The time limit is not in the environment; it comes
// from `scontrol -o show job`, which this package parses too. The hooks'
// gate links it for every ordinary job, so it builds its messages without
// fmt and gives times in seconds without the time package: their
// initialisers (and os's, under fmt) would cost each such job a tenth of a
// program start.
package slurm

import (
	"errors"
	"strconv"
	"strings"

	"github.com/virtcloud/virtcloud/hooks/hostlist"
	"github.com/virtcloud/virtcloud/hooks/request"
)

// Context says where a script runs.
type Context string

const (
	PrologSlurmctld Context = "prolog_slurmctld"
	EpilogSlurmctld Context = "epilog_slurmctld"
	PrologSlurmd    Context = "prolog_slurmd"
	EpilogSlurmd    Context = "epilog_slurmd"
)

// Controller reports whether the context runs on the controller.
func (c Context) Controller() bool { return c == PrologSlurmctld || c == EpilogSlurmctld }

// Env is the part of a script's environment the hooks use.
type Env struct {
	Context   Context
	Job       string
	User      string
	Partition string
	Comment   string
	// Hosts is the job's node list, expanded.
	Hosts []string
	// Node is this slurmd's node name (Prolog and Epilog only).
	Node string
}

// Detect reports whether the environment is a Slurm script's, cheaply, so
// that an ordinary job's hook can decide without parsing anything.
func Detect(getenv func(string) string) bool {
	return getenv("SLURM_SCRIPT_CONTEXT") != "" || getenv("SLURM_JOB_ID") != "" && getenv("SLURM_JOB_USER") != ""
}

// Parse reads the environment. prologue says which binary runs, for the
// Slurm versions that do not set SLURM_SCRIPT_CONTEXT in the controller.
// Hosts are left unexpanded until ExpandHosts: ordinary jobs never need them.
func Parse(getenv func(string) string, prologue bool) (Env, error) {
	e := Env{
		Context:   Context(getenv("SLURM_SCRIPT_CONTEXT")),
		Job:       first(getenv("SLURM_JOB_ID"), getenv("SLURM_JOBID")),
		User:      getenv("SLURM_JOB_USER"),
		Partition: getenv("SLURM_JOB_PARTITION"),
		Comment:   getenv("SLURM_JOB_COMMENT"),
		Node:      getenv("SLURMD_NODENAME"),
	}
	if e.Context == "" {
		switch {
		case e.Node == "" && prologue:
			e.Context = PrologSlurmctld
		case e.Node == "":
			e.Context = EpilogSlurmctld
		case prologue:
			e.Context = PrologSlurmd
		default:
			e.Context = EpilogSlurmd
		}
	}
	switch e.Context {
	case PrologSlurmctld, EpilogSlurmctld, PrologSlurmd, EpilogSlurmd:
	default:
		return e, errors.New("slurm: unknown SLURM_SCRIPT_CONTEXT " + strconv.Quote(string(e.Context)))
	}
	if e.Context == PrologSlurmctld || e.Context == PrologSlurmd {
		if !prologue {
			return e, errors.New("slurm: the epilogue binary runs in context " + string(e.Context) + "; install vc-prologue there")
		}
	} else if prologue {
		return e, errors.New("slurm: the prologue binary runs in context " + string(e.Context) + "; install vc-epilogue there")
	}
	if e.Job == "" {
		return e, errors.New("slurm: SLURM_JOB_ID is not set")
	}
	return e, nil
}

// Request is the job's request string, given as `--comment=vcluster...`
// ("" when it has none).
func (e Env) Request() string {
	if request.Is(e.Comment) {
		return e.Comment
	}
	return ""
}

// ExpandHosts fills Hosts from SLURM_JOB_NODELIST (controller) or
// SLURM_NODELIST (Prolog and Epilog get only that one).
func (e *Env) ExpandHosts(getenv func(string) string) error {
	expr := first(getenv("SLURM_JOB_NODELIST"), getenv("SLURM_NODELIST"))
	if expr == "" {
		return errors.New("slurm: neither SLURM_JOB_NODELIST nor SLURM_NODELIST is set")
	}
	hosts, err := hostlist.Expand(expr)
	if err != nil {
		return errors.New("slurm: node list: " + err.Error())
	}
	e.Hosts = hosts
	return nil
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// JobField returns one field of `scontrol -o show job` output. Values that
// contain spaces (Comment, Command) are not asked for.
func JobField(out, name string) (string, bool) {
	for _, tok := range strings.Fields(out) {
		if k, v, ok := strings.Cut(tok, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// TimeLimit parses scontrol's TimeLimit: "UNLIMITED", "Partition_Limit",
// "MM", "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM", "D-HH:MM:SS", into
// seconds. No limit is 0.
func TimeLimit(s string) (int64, error) {
	switch s = strings.TrimSpace(s); s {
	case "", "UNLIMITED", "INFINITE", "Partition_Limit", "NONE":
		return 0, nil
	}
	days := int64(0)
	rest := s
	if d, r, ok := strings.Cut(s, "-"); ok {
		v, err := strconv.ParseInt(d, 10, 32)
		if err != nil || v < 0 {
			return 0, errors.New("time limit " + strconv.Quote(s) + ": bad days")
		}
		days, rest = v, r
	}
	f := strings.Split(rest, ":")
	if len(f) > 3 {
		return 0, errors.New("time limit " + strconv.Quote(s) + ": too many fields")
	}
	nums := make([]int64, len(f))
	for i, p := range f {
		v, err := strconv.ParseInt(p, 10, 32)
		if err != nil || v < 0 {
			return 0, errors.New("time limit " + strconv.Quote(s) + ": " + strconv.Quote(p) + " is not a number")
		}
		nums[i] = v
	}
	var h, m, sec int64
	switch {
	case days > 0 || strings.Contains(s, "-"): // D-HH[:MM[:SS]]
		h = nums[0]
		if len(nums) > 1 {
			m = nums[1]
		}
		if len(nums) > 2 {
			sec = nums[2]
		}
	case len(nums) == 1: // MM
		m = nums[0]
	case len(nums) == 2: // MM:SS
		m, sec = nums[0], nums[1]
	default:
		h, m, sec = nums[0], nums[1], nums[2]
	}
	return ((days*24+h)*60+m)*60 + sec, nil
}
