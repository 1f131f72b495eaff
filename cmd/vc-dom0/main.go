// Command vc-dom0 puts a hypervisor host's guest interfaces into their
// virtual cluster's VLAN; see `vc-dom0 --help` and dom0/cli.
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/dom0/cli"
)

func main() { os.Exit(cli.Main(os.Args, os.Stdin, os.Stdout, os.Stderr)) }
