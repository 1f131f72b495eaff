// Command vc-hook is the whole scheduler hook: vc-prologue and vc-epilogue
// (hooks/gate) run `vc-hook vc-prologue|vc-epilogue ARGV...` for every job
// they cannot tell is ordinary (see hooks/README.md).
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/hooks/cli"
)

func main() { os.Exit(cli.Hook(os.Args, os.Stdout, os.Stderr)) }
