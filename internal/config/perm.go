package config

import (
	"fmt"
	"os"
)

// CheckPrivate refuses a file that others may read or write: it holds
// secrets (tokens, switch credentials). Group read is allowed so that a
// service account such as Slurm's can share it.
func CheckPrivate(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("check config permissions: %w", err)
	}
	if m := info.Mode().Perm(); m&0o007 != 0 {
		return fmt.Errorf("%s is mode %04o: it holds secrets and must not be readable or writable by others (chmod o-rwx %s)", path, m, path)
	}
	return nil
}
