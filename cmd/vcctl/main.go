// Command vcctl is the administrators' view of VirtCloud: leases, pools,
// switches and audits, as tables for people or JSON for scripts.
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/internal/vcctl"
)

func main() { os.Exit(vcctl.Main(os.Args, os.Stdout, os.Stderr)) }
