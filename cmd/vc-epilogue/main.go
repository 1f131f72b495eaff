// Command vc-epilogue is the scheduler hooks' epilogue (see hooks/README.md).
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/hooks"
	"github.com/virtcloud/virtcloud/hooks/cli"
)

func main() { os.Exit(cli.Main(hooks.Epilogue, os.Args, os.Stdout, os.Stderr)) }
