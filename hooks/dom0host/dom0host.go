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

func (x *host) Setup(ctx context.Context, j hooks.HostJob) (string, error) {
	br, err := x.h.Ensure(ctx, j.VLAN)
	if err != nil {
		return "", err
	}
	if err := dom0.WriteJob(x.dir, dom0.Job{Job: j.Job, VLAN: j.VLAN, Bridge: br, State: j.State, Token: j.Token, Server: j.Server}); err != nil {
		return "", err
	}
	return br, nil
}

func (x *host) Cleanup(ctx context.Context, job string) error {
	jobs, err := dom0.ReadJobs(x.dir)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Job != job {
			continue
		}
		// The job file keeps the bridge: remove it first.
		if err := dom0.RemoveJob(x.dir, job); err != nil {
			return err
		}
		if err := x.h.Release(ctx, j.VLAN); err != nil {
			return fmt.Errorf("release VLAN %d: %w", j.VLAN, err)
		}
	}
	return nil
}

func (x *host) Jobs(ctx context.Context) ([]hooks.HostJob, error) {
	jobs, err := dom0.ReadJobs(x.dir)
	if err != nil {
		return nil, err
	}
	out := make([]hooks.HostJob, len(jobs))
	for i, j := range jobs {
		out[i] = hooks.HostJob{Job: j.Job, VLAN: j.VLAN, Bridge: j.Bridge, State: j.State, Token: j.Token, Server: j.Server}
	}
	return out, nil
}
