// Command vc-epilogue is the scheduler hooks' epilogue (see hooks/README.md): it
// ends an ordinary job's run at once and hands any other to vc-hook.
package main

import (
	"os"

	"github.com/virtcloud/virtcloud/hooks/gate"
)

func main() { os.Exit(gate.Main(gate.Epilogue, os.Args)) }
