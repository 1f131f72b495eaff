//go:build failpoints

// Package failpoint kills the process at a named point, for crash tests. It
// is compiled in only with the build tag "failpoints"; release builds carry
// an empty Hit. VIRTCLOUD_FAILPOINT names the point, for example
// apply.after-step-3.
package failpoint

import (
	"os"
	"syscall"
)

var armed = os.Getenv("VIRTCLOUD_FAILPOINT")

// Hit kills the process with SIGKILL when name is the armed point.
func Hit(name string) {
	if armed != "" && name == armed {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}
