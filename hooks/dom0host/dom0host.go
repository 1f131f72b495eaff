// Package dom0host gives the hooks this host's networking through the dom0
// package: the bridge of a job's VLAN and the job file the VM-booting layer
// reads. It is the only place the hooks touch netlink, so the hooks' own
// tests run on kernels without 802.1Q.
package dom0host

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/virtcloud/virtcloud/dom0"
	"github.com/virtcloud/virtcloud/hooks"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

// Open is hooks.Env.OpenHost.
func Open(cfg *config.Dom0, log *slog.Logger) (hooks.Host, error) {
	h, err := dom0.New(cfg, dom0.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return &host{h: h, dir: cfg.StateDir}, nil
}

type host struct {
	h   *dom0.Host
	dir string
}

func (x *host) Setup(ctx context.Context, j hostjob.Job) (string, error) {
	br, err := x.h.Ensure(ctx, j.VLAN)
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
		if err := x.h.Release(ctx, j.VLAN); err != nil {
			return fmt.Errorf("release VLAN %d: %w", j.VLAN, err)
		}
	}
	return nil
}

func (x *host) Jobs(context.Context) ([]hostjob.Job, error) { return hostjob.ReadAll(x.dir) }
