// Package cli is the command line of vc-hook and vc-periodic: it hands the
// process's arguments, environment and stdio to the hooks package, with
// this host's networking through vc-dom0, and turns the outcome into the
// exit status and a "prog: message" line on stderr. (vc-prologue and
// vc-epilogue are hooks/gate, which runs vc-hook.)
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/virtcloud/virtcloud/hooks"
	"github.com/virtcloud/virtcloud/hooks/dom0host"
	"github.com/virtcloud/virtcloud/hooks/gate"
)

// Main runs hook p with args (os.Args) and returns its exit status.
func Main(p hooks.Program, args []string, stdout, stderr io.Writer) int {
	return run(p, args, stdout, stderr, false)
}

// run is Main; asHook says the process is vc-hook, whose decisions on
// ordinary jobs the gate may reuse.
func run(p hooks.Program, args []string, stdout, stderr io.Writer, asHook bool) int {
	env := hooks.Env{Args: args, Stdout: stdout, Stderr: stderr, OpenHost: dom0host.Open}
	if asHook {
		if exe, err := os.Executable(); err == nil {
			env.Hook = exe
		}
	}
	inv, err := hooks.Run(context.Background(), p, env)
	if err != nil {
		prog := string(p)
		if len(args) > 0 {
			prog = filepath.Base(args[0])
		}
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
	}
	return hooks.ExitCode(p, inv, err)
}

// Hook is vc-hook's command line, `vc-hook vc-prologue|vc-epilogue
// ARGV...`: hooks/gate runs it with the argv the resource manager gave the
// hook.
func Hook(args []string, stdout, stderr io.Writer) int {
	if len(args) < 3 || args[1] != gate.Prologue && args[1] != gate.Epilogue {
		fmt.Fprintf(stderr, "usage: vc-hook %s|%s ARGV...\n(vc-prologue and vc-epilogue run it for every job they cannot tell is ordinary)\n", gate.Prologue, gate.Epilogue)
		return 2
	}
	return run(hooks.Program(args[1]), args[2:], stdout, stderr, true)
}
