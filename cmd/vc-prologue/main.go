// Command vc-prologue is the scheduler hooks' prologue (see hooks/README.md).
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/hooks"
	"github.com/virtcloud/virtcloud/hooks/dom0host"
)

func main() {
	os.Exit(hooks.Main(hooks.Prologue, hooks.Env{Args: os.Args, Stdout: os.Stdout, Stderr: os.Stderr, OpenHost: dom0host.Open}))
}
