package hooks

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/internal/lookpath"
)

// commandTimeout bounds every external command a hook runs.
const commandTimeout = 15 * time.Second

// command runs a resource manager's tool and returns its stdout; a failure
// carries the tool's stderr.
func command(ctx context.Context, getenv func(string) string, name string, args ...string) ([]byte, error) {
	p, err := lookpath.Find(getenv, name)
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
