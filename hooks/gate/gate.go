// Package gate is what vc-prologue and vc-epilogue run first. Most jobs
// are ordinary, and the hook must cost them no more than starting a
// program: the gate tells an ordinary job from its arguments and a
// decision vc-hook left in a cache, and hands every other run, unchanged,
// to vc-hook, the whole hook (package hooks). It links no HTTP, TLS or
// TOML code, and not even the os, fmt or time packages: their initialisers
// alone cost more than a tenth of what starting a program costs.
// So it asks the kernel through syscall, and reads its arguments from
// /proc/self/cmdline, as ps does.
package gate

import (
	"errors"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/virtcloud/virtcloud/hooks/slurm"
	"github.com/virtcloud/virtcloud/hooks/torque"
	"github.com/virtcloud/virtcloud/internal/lookpath"
)

// The hooks the gate stands in front of, as vc-hook's first argument names
// them (hooks.Program).
const (
	Prologue = "vc-prologue"
	Epilogue = "vc-epilogue"
)

// The resource managers the hooks serve.
const (
	Torque  = "torque"
	OpenPBS = "openpbs"
	Slurm   = "slurm"
)

// DefaultCacheDir is where vc-hook leaves its decisions for the gate.
const DefaultCacheDir = "/var/cache/virtcloud"

// defaultConfig is config.DefaultPath (a test checks it): the config
// package pulls in the TOML decoder.
const defaultConfig = "/etc/virtcloud/virtcloud.toml"

// ConfigPath is the configuration file the hooks read.
func ConfigPath(getenv func(string) string) string {
	if p := getenv("VIRTCLOUD_CONFIG"); p != "" {
		return p
	}
	return defaultConfig
}

// Manager names the resource manager running the hook: OpenPBS's hook
// passes --openpbs first, Slurm is known by its environment, and anything
// else is pbs_mom's argv.
func Manager(args []string, getenv func(string) string) string {
	switch {
	case len(args) > 1 && args[1] == "--openpbs":
		return OpenPBS
	case slurm.Detect(getenv):
		return Slurm
	default:
		return Torque
	}
}

// Main runs hook program (Prologue or Epilogue) and returns its exit
// status: 0 for an ordinary job; any other run replaces this process with
// `vc-hook PROGRAM ARGS...`, so Main returns otherwise only when vc-hook
// cannot be run, with the exit status of a fault of this host.
func Main(program string) int {
	args, err := Args()
	if err != nil {
		return fault(program, program, nil, "cannot read its arguments: "+err.Error()+" (the hooks need /proc, as the resource managers do)")
	}
	prog := path.Base(args[0])
	bin, err := lookpath.Sibling(getenv, "vc-hook")
	if err == nil {
		if Ordinary(program, args, getenv, DefaultCacheDir, bin) {
			return 0
		}
		err = &pathError{"exec", bin, syscall.Exec(bin, append([]string{bin, program}, args...), syscall.Environ())}
	}
	return fault(program, prog, args, "cannot run the hook: "+err.Error()+" (install vc-hook beside "+prog+": hooks/README.md, Install)")
}

// fault reports, as prog, why the gate could not run the hook, and returns
// the exit status of a fault of this host.
func fault(program, prog string, args []string, why string) int {
	_, _ = syscall.Write(2, []byte(prog+": "+why+"\n")) // nowhere else to report
	return hostFaultExit(program, args, getenv)
}

// Args is this program's argv, os.Args without the os package: the
// kernel's copy in /proc/self/cmdline.
func Args() ([]string, error) {
	b, _, err := readFile("/proc/self/cmdline")
	if err == nil && len(b) == 0 {
		err = errors.New("/proc/self/cmdline is empty")
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), nil
}

func getenv(key string) string {
	v, _ := syscall.Getenv(key)
	return v
}

// pathError is os.PathError without the os package.
type pathError struct {
	op, path string
	err      error
}

func (e *pathError) Error() string { return e.op + " " + e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// hostFaultExit is the exit status each front end gives a prologue's fault
// of this host (hooks' FrontEnd.ExitCode; TestGateBinary keeps the two
// equal): Torque requeues the job (a $presetup_prologue, given every host
// of the job, never fails it), OpenPBS's hook takes the node offline, Slurm
// drains the node. An epilogue always succeeds.
func hostFaultExit(program string, args []string, getenv func(string) string) int {
	if program != Prologue {
		return 0
	}
	switch Manager(args, getenv) {
	case OpenPBS:
		return 3
	case Slurm:
		return 1
	}
	if len(args) > 1 {
		if a, err := torque.Parse(args[1:], true); err == nil && a.HostList != "" {
			return 0
		}
	}
	return 2
}

// Ordinary reports whether the run is certainly for an ordinary job: its
// arguments parse, it carries no request string, and the vc-hook at
// hookPath found its queue outside [hooks] queues in the configuration
// file as it is now. Anything less certain is vc-hook's to decide.
func Ordinary(program string, args []string, getenv func(string) string, cacheDir, hookPath string) bool {
	queue, ok := ordinaryQueue(program, args, getenv)
	if !ok {
		return false
	}
	queues, ok := recalled(cacheDir, hookPath, ConfigPath(getenv))
	return ok && !Cluster(queues, queue, "")
}

// Cluster is the one rule for a cluster job: it carries a request string
// (request), or it is in one of the [hooks] queues (Slurm: partitions).
func Cluster(queues []string, queue, request string) bool {
	return request != "" || slices.Contains(queues, queue)
}

// ordinaryQueue is the queue (Slurm: partition) of a job with no request
// string. OpenPBS's hook tells ordinary jobs itself and runs the binaries
// only for the others.
func ordinaryQueue(program string, args []string, getenv func(string) string) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	switch Manager(args, getenv) {
	case Torque:
		a, err := torque.Parse(args[1:], program == Prologue)
		return a.Queue, err == nil && a.Request() == ""
	case Slurm:
		e, err := slurm.Parse(getenv, program == Prologue)
		return e.Partition, err == nil && e.Request() == ""
	}
	return "", false
}
