// Command vc-epilogue is the scheduler hooks' epilogue (see hooks/README.md): it
// ends an ordinary job's run at once and hands any other to vc-hook.
package main

import (
	"syscall"

	"github.com/virtcloud/virtcloud/hooks/gate"
)

// main exits through syscall: the gate leaves out the os package (see
// package gate).
func main() { syscall.Exit(gate.Main(gate.Epilogue)) }
