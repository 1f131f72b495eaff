// Command vc-epilogue is the scheduler hooks' epilogue (see hooks/README.md).
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/hooks"
	"github.com/virtcloud/virtcloud/hooks/dom0host"
)

func main() {
	os.Exit(hooks.Main(hooks.Epilogue, hooks.Env{Args: os.Args, Stdout: os.Stdout, Stderr: os.Stderr, OpenHost: dom0host.Open}))
}
