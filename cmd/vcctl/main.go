// Command vcctl is the administrators' view of VirtCloud: leases, pools,
// switches and audits, as tables for people or JSON for scripts.
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/vcctl/cli"
)

func main() { os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr)) }
