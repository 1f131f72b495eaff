// Package lookpath finds the programs a hook runs: resource managers' tools
// (qstat, scontrol), and VirtCloud's own vc-hook and vc-dom0. Hooks run
// with little or no PATH (Slurm gives its scripts none, pbs_mom only
// /bin:/usr/bin), so the usual directories are searched after it.
//
// The hooks' gate finds vc-hook with it for every ordinary job, so it asks
// the kernel through syscall alone: the os and fmt packages' initialisers
// would cost each such job a tenth of a program start.
package lookpath

import (
	"errors"
	"path"
	"strconv"
	"strings"
	"syscall"
)

// fallback is searched after $PATH.
const fallback = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:/opt/pbs/bin:/opt/torque/bin"

// Find looks for name in $PATH (as getenv gives it), then in the usual
// directories.
func Find(getenv func(string) string, name string) (string, error) {
	if p, st := find(getenv, name); st != nil {
		return p, nil
	}
	return "", errors.New(name + ": not found in $PATH or " + fallback)
}

// find is Find, with the program's file status (nil: not found).
func find(getenv func(string) string, name string) (string, *syscall.Stat_t) {
	for _, dir := range strings.Split(getenv("PATH")+":"+fallback, ":") {
		if dir == "" {
			continue
		}
		p := path.Join(dir, name)
		if st := executable(p); st != nil {
			return p, st
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
	p, st := "", (*syscall.Stat_t)(nil)
	if exe, ok := executablePath(); ok {
		dir = path.Dir(exe)
		p = path.Join(dir, name)
		st = executable(p)
	}
	if st == nil {
		if p, st = find(getenv, name); st == nil {
			return "", errors.New(name + ": not found in " + dir + ", $PATH or " + fallback)
		}
	}
	if err := trusted(p, st); err != nil {
		return "", err
	}
	return p, nil
}

// executablePath is the running program's file, as os.Executable reads it
// on Linux.
func executablePath() (string, bool) {
	buf := make([]byte, 512)
	for {
		n, err := syscall.Readlink("/proc/self/exe", buf)
		if err != nil || n <= 0 {
			return "", false
		}
		if n < len(buf) {
			return strings.TrimSuffix(string(buf[:n]), " (deleted)"), true
		}
		buf = make([]byte, 2*len(buf))
	}
}

// trusted refuses a program another user could have changed.
func trusted(p string, st *syscall.Stat_t) error {
	if m := st.Mode & 0o777; m&0o022 != 0 {
		return errors.New(p + " is mode " + octal(m) + ": group or others may change it, so it is not run (chmod go-w " + p + ")")
	}
	if st.Uid != 0 && int(st.Uid) != syscall.Geteuid() {
		return errors.New(p + " is owned by uid " + strconv.FormatUint(uint64(st.Uid), 10) + ": only root's or this user's program is run")
	}
	return nil
}

// executable is p's file status if p is an executable regular file, else
// nil.
func executable(p string) *syscall.Stat_t {
	var st syscall.Stat_t
	if syscall.Stat(p, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Mode&0o111 == 0 {
		return nil
	}
	return &st
}

// octal is a permission mode as chmod takes it: four octal digits.
func octal(mode uint32) string {
	s := strconv.FormatUint(uint64(mode&0o7777), 8)
	return strings.Repeat("0", 4-len(s)) + s
}
