// Command vc-periodic is the scheduler hooks' periodic (see hooks/README.md).
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/hooks"
	"github.com/virtcloud/virtcloud/hooks/dom0host"
)

func main() {
	os.Exit(hooks.Main(hooks.Periodic, hooks.Env{Args: os.Args, Stdout: os.Stdout, Stderr: os.Stderr, OpenHost: dom0host.Open}))
}
