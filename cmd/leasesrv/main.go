// Command leasesrv is the VirtCloud lease server.
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/leasesrv/cmd"
)

func main() { os.Exit(cmd.Main(os.Args, os.Stdout, os.Stderr)) }
