// Package lookpath finds the programs a hook runs: resource managers' tools
// (qstat, scontrol), and VirtCloud's own vc-hook and vc-dom0. Hooks run
// with little or no PATH (Slurm gives its scripts none, pbs_mom only
// /bin:/usr/bin), so the usual directories are searched after it.
package lookpath

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// fallback is searched after $PATH.
const fallback = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:/opt/pbs/bin:/opt/torque/bin"

// Find looks for name in $PATH (as getenv gives it), then in the usual
// directories.
func Find(getenv func(string) string, name string) (string, error) {
	if p, info := find(getenv, name); info != nil {
		return p, nil
	}
	return "", fmt.Errorf("%s: not found in $PATH or %s", name, fallback)
}

// find is Find, with the program's file information (nil: not found).
func find(getenv func(string) string, name string) (string, fs.FileInfo) {
	for _, dir := range filepath.SplitList(getenv("PATH") + ":" + fallback) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if info := executable(p); info != nil {
			return p, info
		}
	}
	return "", nil
}

// Sibling looks for one of VirtCloud's programs beside the running binary
// first (programs of one package or one build directory belong together),
// then as Find does. Hooks run it as root: a program that someone other
// than this user or root owns, or that group or others may write, is
// refused, not run.
func Sibling(getenv func(string) string, name string) (string, error) {
	dir := "this program's directory"
	p, info := "", fs.FileInfo(nil)
	if exe, err := os.Executable(); err == nil {
		dir = filepath.Dir(exe)
		p = filepath.Join(dir, name)
		info = executable(p)
	}
	if info == nil {
		if p, info = find(getenv, name); info == nil {
			return "", fmt.Errorf("%s: not found in %s, $PATH or %s", name, dir, fallback)
		}
	}
	if err := trusted(p, info); err != nil {
		return "", err
	}
	return p, nil
}

// trusted refuses a program another user could have changed.
func trusted(p string, info fs.FileInfo) error {
	if m := info.Mode().Perm(); m&0o022 != 0 {
		return fmt.Errorf("%s is mode %04o: group or others may change it, so it is not run (chmod go-w %s)", p, m, p)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d: only root's or this user's program is run", p, st.Uid)
	}
	return nil
}

// executable is p's file information if p is an executable file, else nil.
func executable(p string) fs.FileInfo {
	info, err := os.Stat(p)
	if err != nil || !info.Mode().IsRegular() || info.Mode()&0o111 == 0 {
		return nil
	}
	return info
}
