// Package cli is the command line of vc-prologue, vc-epilogue and
// vc-periodic: it hands the process's arguments, environment and stdio to
// the hooks package, with this host's networking through vc-dom0, and
// turns the outcome into the exit status and a "prog: message" line on
// stderr. Each cmd/vc-* main only calls Main.
package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/virtcloud/virtcloud/hooks"
	"github.com/virtcloud/virtcloud/hooks/dom0host"
)

// Main runs hook p with args (os.Args) and returns its exit status.
func Main(p hooks.Program, args []string, stdout, stderr io.Writer) int {
	env := hooks.Env{Args: args, Stdout: stdout, Stderr: stderr, OpenHost: dom0host.Open}
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
