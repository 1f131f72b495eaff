// Command leasesrv is the VirtCloud lease server.
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/leasesrv/cli"
)

func main() { os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr)) }
