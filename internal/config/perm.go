package config

import (
	"fmt"
	"io"
	"io/fs"
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
	return checkMode(path, info.Mode())
}

// ReadPrivate reads a file CheckPrivate accepts, with the mode it checked:
// the mode of the very bytes it returns, for a caller that remembers both
// (hooks/gate).
func ReadPrivate(path string) ([]byte, fs.FileMode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read config: %w", err)
	}
	defer func() { _ = f.Close() }() // read only: nothing to report
	info, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("check config permissions: %w", err)
	}
	if err := checkMode(path, info.Mode()); err != nil {
		return nil, 0, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, 0, fmt.Errorf("read config: %w", err)
	}
	return b, info.Mode(), nil
}

func checkMode(path string, mode fs.FileMode) error {
	if m := mode.Perm(); m&0o007 != 0 {
		return fmt.Errorf("%s is mode %04o: it holds secrets and must not be readable or writable by others (chmod o-rwx %s)", path, m, path)
	}
	return nil
}
