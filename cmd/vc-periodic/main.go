// Command vc-periodic is the scheduler hooks' periodic (see hooks/README.md).
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/hooks"
	"github.com/virtcloud/virtcloud/hooks/cli"
)

func main() { os.Exit(cli.Main(hooks.Periodic, os.Args, os.Stdout, os.Stderr)) }
