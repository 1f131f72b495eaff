// Package dom0host gives the hooks this host's networking: the bridge of a
// job's VLAN, which vc-dom0 builds and removes, and the job file the
// VM-booting layer reads (internal/hostjob). The hooks run vc-dom0 instead
// of linking the dom0 package, so that no hook binary carries netlink or
// nftables code, and a hook for an ordinary job starts as fast as it can.
package dom0host

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/hooks"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/hostjob"
	"github.com/virtcloud/virtcloud/internal/lookpath"
)

// Open is hooks.Env.OpenHost. vc-dom0 is looked for beside the running
// binary (both are in one package, or one build directory), then in $PATH
// and the usual places; it reads the [dom0] table of configPath.
func Open(cfg *config.Dom0, configPath string, getenv func(string) string) (hooks.Host, error) {
	bin, err := lookpath.Sibling(getenv, "vc-dom0")
	if err != nil {
		return nil, err
	}
	return &host{bin: bin, config: configPath, dir: cfg.StateDir}, nil
}

type host struct {
	bin, config, dir string
}

// vcDom0 runs `vc-dom0 command --vlan N` and returns its output; a
// failure carries what vc-dom0 said. vc-dom0 gets no environment of the
// hook's: everything it needs is on its command line.
func (x *host) vcDom0(ctx context.Context, command string, vlan int) (string, error) {
	args := []string{"--config", x.config, command, "--vlan", strconv.Itoa(vlan)}
	if dl, ok := ctx.Deadline(); ok {
		args = append([]string{"--timeout", time.Until(dl).Round(time.Millisecond).String()}, args...)
	}
	cmd := exec.CommandContext(ctx, x.bin, args...)
	cmd.Env = []string{}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// vc-dom0 ends with "vc-dom0: <error>", after its log lines.
		msg := err.Error()
		for _, l := range strings.Split(stderr.String(), "\n") {
			if m, ok := strings.CutPrefix(l, "vc-dom0: "); ok {
				msg = m
			}
		}
		return "", fmt.Errorf("vc-dom0 %s: %s", command, msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}

func (x *host) Setup(ctx context.Context, j hostjob.Job) (string, error) {
	br, err := x.vcDom0(ctx, "ensure", j.VLAN)
	if err != nil {
		return "", err
	}
	j.Bridge = br
	if err := hostjob.Write(x.dir, j); err != nil {
		return "", err
	}
	return br, nil
}

func (x *host) Cleanup(ctx context.Context, job string) error {
	jobs, err := hostjob.ReadAll(x.dir)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Job != job {
			continue
		}
		// The job file keeps the bridge: remove it first.
		if err := hostjob.Remove(x.dir, job); err != nil {
			return err
		}
		if _, err := x.vcDom0(ctx, "release", j.VLAN); err != nil {
			return fmt.Errorf("release VLAN %d: %w", j.VLAN, err)
		}
	}
	return nil
}

func (x *host) Jobs(context.Context) ([]hostjob.Job, error) { return hostjob.ReadAll(x.dir) }
