// Package hooks is the one code path behind vc-prologue, vc-epilogue and
// vc-periodic. A resource manager's front end (FrontEnd: Torque, OpenPBS,
// Slurm) turns its arguments and environment into an Invocation and does
// what only that manager can; the shared code decides whether the job is a
// cluster job, creates, commits and releases its lease, has this host's
// bridge built (Host), and maps every failure to a Class that ExitCode turns
// into the exit status the manager needs. The command line is hooks/cli;
// vc-prologue and vc-epilogue reach this code through vc-hook, for every
// job their gate (hooks/gate) cannot tell is ordinary.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/hooks/gate"
	"github.com/virtcloud/virtcloud/internal/atomicfile"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
)

// Env is everything a hook takes from the outside world. hooks/cli fills it from
// the process; tests fill it themselves.
type Env struct {
	Args   []string
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer
	// Logger gets the hook's diagnostics (nil: text to Stderr).
	Logger *slog.Logger
	// OpenHost opens this host's networking from the [dom0] table of the
	// configuration file at configPath; nil, or a configuration without
	// [dom0], means no host networking here.
	OpenHost func(cfg *config.Dom0, configPath string, getenv func(string) string) (Host, error)
	// Hostname names this machine (default os.Hostname).
	Hostname func() (string, error)
	// Hook is the path of the running vc-hook, whose decisions on ordinary
	// jobs the gate may reuse; "" leaves none (vc-periodic, tests).
	Hook string
	// CacheDir keeps those decisions (default gate.DefaultCacheDir).
	CacheDir string
	// Now is the clock for spool records (default time.Now).
	Now func() time.Time
	// Sleep waits between retries (default: a timer that honours ctx).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Invocation is what a front end made of one run.
type Invocation struct {
	Program Program
	Job     string
	User    string
	Queue   string
	// Request is the raw request string ("" when the job has none).
	Request string
	// FrontEnd is the resource manager's side of the run.
	FrontEnd FrontEnd
}

func (env *Env) defaults() {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if env.Hostname == nil {
		env.Hostname = os.Hostname
	}
	if env.CacheDir == "" {
		env.CacheDir = gate.DefaultCacheDir
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Sleep == nil {
		env.Sleep = client.Sleep
	}
	if len(env.Args) == 0 {
		env.Args = []string{"hook"}
	}
}

// Run is one hook run. It returns the invocation (nil for vc-periodic) and
// an error carrying its Class; ExitCode turns both into the exit status.
func Run(ctx context.Context, p Program, env Env) (*Invocation, error) {
	env.defaults()
	if p == Periodic {
		return nil, runPeriodic(ctx, env)
	}
	inv, err := parseInvocation(p, env)
	if err != nil {
		return inv, err
	}
	// Ordinary jobs stop here, having read only the configuration.
	cfg, cluster, err := loadFor(inv, env)
	if err != nil && p == Prologue {
		return inv, nodeFault(ctx, inv, env, err)
	}
	if err != nil || !cluster {
		return inv, err
	}
	// A run that joins a lease another run owns (Slurm's Prolog and Epilog)
	// is there for this host: its bridge, with host networking, and the
	// job's network for TaskProlog to read.
	h := &hook{inv: inv, env: env, cfg: cfg, log: env.Logger.With("job", inv.Job)}
	// A hard cap above the budget the lease work gets, for the commands
	// and host changes around it: a hook never hangs.
	ctx, cancel := context.WithTimeout(ctx, cfg.Hooks.Budget.Duration+hardCapSlack)
	defer cancel()
	if p == Prologue {
		return inv, h.prologue(ctx)
	}
	return inv, h.epilogue(ctx)
}

// hardCapSlack is what a hook may spend beyond its budget: cancelling or
// marking after a failure, host networking, the spool.
const hardCapSlack = 45 * time.Second

// loadConfig reads the hooks' part of the configuration, refusing a file
// others may read: it holds a token. The cluster queues of a valid file are
// left for the gate (hooks/gate), so that the next ordinary job is told
// without this binary; a cache that cannot be written only costs that.
func loadConfig(env Env) (*config.Config, error) {
	path := gate.ConfigPath(env.Getenv)
	data, mode, err := config.ReadPrivate(path)
	if err != nil {
		return nil, fail(HostFault, "%w", err)
	}
	cfg, err := config.ParsePart(path, data, "hooks")
	if err != nil {
		return nil, fail(HostFault, "%w", err)
	}
	if env.Hook != "" {
		if err := remember(env.CacheDir, env.Hook, path, data, mode, cfg.Hooks.Queues); err != nil {
			env.Logger.Log(context.Background(), cacheWriteLevel(), "ordinary jobs will all run vc-hook", "err", err)
		}
	}
	return cfg, nil
}

// remember leaves the gate vc-hook's decision for the configuration file
// at path, read as data with mode (gate.Record). A cache already up to
// date is left alone.
func remember(dir, hook, path string, data []byte, mode fs.FileMode, queues []string) error {
	want, err := gate.Record(hook, path, data, uint32(mode.Perm()), queues)
	if err != nil || want == nil {
		return err
	}
	name := gate.CacheFile(dir, path)
	if have, err := os.ReadFile(name); err == nil && bytes.Equal(have, want) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return atomicfile.Write(name, want, 0o600)
}

// cacheWriteLevel: root's hooks can always write the gate's cache, so a
// failure there is worth a warning; a hook running as another user
// (Slurm's PrologSlurmctld) never can, and says so only when asked.
func cacheWriteLevel() slog.Level {
	if os.Geteuid() == 0 {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}

// loadFor reads the configuration and says whether the job is a cluster job:
// one in a [hooks] queue or with a request string.
func loadFor(inv *Invocation, env Env) (*config.Config, bool, error) {
	cfg, err := loadConfig(env)
	if err != nil {
		// Without a request string the job can only be a cluster job by
		// its queue, which needs the file: an epilogue has nothing to say
		// then. A prologue takes the node out (nodeFault).
		if inv.Request == "" && inv.Program == Epilogue {
			return nil, false, nil
		}
		return nil, false, err
	}
	cluster := gate.Cluster(cfg.Hooks.Queues, inv.Queue, inv.Request)
	return cfg, cluster, nil
}

// nodeFault handles a prologue on a node whose configuration is broken
// (missing, malformed, readable by others): without it the node would take
// every job sent there and requeue it without end. The node takes itself
// out of scheduling with the reason, where the manager lets a hook do that
// (FrontEnd.NodeBroken; OpenPBS's hook does it from the exit status). A job
// that is certainly ordinary still runs: no request string, and a queue
// list that could be read (the file is only too open) or no file at all (no
// queue here is a cluster queue). Any other job is requeued, and runs on
// another node.
func nodeFault(ctx context.Context, inv *Invocation, env Env, cause error) error {
	if ClassOf(cause) != HostFault {
		return cause
	}
	ordinary := false
	if inv.Request == "" {
		cfg, err := config.LoadPart(gate.ConfigPath(env.Getenv), "hooks")
		ordinary = errors.Is(err, fs.ErrNotExist) || err == nil && !gate.Cluster(cfg.Hooks.Queues, inv.Queue, inv.Request)
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	inv.FrontEnd.NodeBroken(ctx, cause, ordinary)
	if ordinary {
		return &Error{Class: Degraded, Err: fmt.Errorf("this node is out of service (%w); ordinary job %s runs", cause, inv.Job)}
	}
	return cause
}

// outOfServiceNote is the reason a node taken out of service shows.
func outOfServiceNote(cause error) string {
	return "virtcloud: " + strings.ReplaceAll(cause.Error(), "\n", " ")
}
