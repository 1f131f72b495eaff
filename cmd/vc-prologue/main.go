// Command vc-prologue is the scheduler hooks' prologue (see hooks/README.md).
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/hooks"
	"github.com/virtcloud/virtcloud/hooks/cli"
)

func main() { os.Exit(cli.Main(hooks.Prologue, os.Args, os.Stdout, os.Stderr)) }
