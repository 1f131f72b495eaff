package hooks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// fallbackPath is searched after $PATH: Slurm gives its scripts no PATH at
// all, and pbs_mom only /bin:/usr/bin, while qstat, pbsnodes and scontrol
// often live elsewhere.
const fallbackPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin:/opt/pbs/bin:/opt/torque/bin"

// commandTimeout bounds every external command a hook runs.
const commandTimeout = 15 * time.Second

// LookPath finds a tool in $PATH (as getenv gives it), then in the places
// resource managers and packages usually put it.
func LookPath(getenv func(string) string, name string) (string, error) {
	for _, dir := range filepath.SplitList(getenv("PATH") + ":" + fallbackPath) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in $PATH or %s", name, fallbackPath)
}

// command runs a resource manager's tool and returns its stdout; a failure
// carries the tool's stderr.
func command(ctx context.Context, getenv func(string) string, name string, args ...string) ([]byte, error) {
	p, err := LookPath(getenv, name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
