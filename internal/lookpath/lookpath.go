// Package lookpath finds the programs a hook runs: resource managers' tools
// (qstat, scontrol), and VirtCloud's own vc-hook and vc-dom0. Hooks run
// with little or no PATH (Slurm gives its scripts none, pbs_mom only
// /bin:/usr/bin), so the usual directories are searched after it.
package lookpath

import (
	"fmt"
	"os"
	"path/filepath"
)

// Fallback is searched after $PATH.
const Fallback = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:/opt/pbs/bin:/opt/torque/bin"

// Find looks for name in $PATH (as getenv gives it), then in Fallback.
func Find(getenv func(string) string, name string) (string, error) {
	for _, dir := range filepath.SplitList(getenv("PATH") + ":" + Fallback) {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, name); executable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in $PATH or %s", name, Fallback)
}

// Sibling looks for one of VirtCloud's programs beside the running binary
// first (programs of one package or one build directory belong together),
// then as Find does.
func Sibling(getenv func(string) string, name string) (string, error) {
	dir := "this program"
	if exe, err := os.Executable(); err == nil {
		dir = filepath.Dir(exe)
		if p := filepath.Join(dir, name); executable(p) {
			return p, nil
		}
	}
	if p, err := Find(getenv, name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s: not found in %s, $PATH or %s", name, dir, Fallback)
}

func executable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}
