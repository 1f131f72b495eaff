package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/virtcloud/virtcloud/dom0"
	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
)

// gc asks the lease server for every lease and keeps only what a live lease
// places on this host. Any failure to get the list stops it before it
// changes anything: an outage of the server must never tear down running
// clusters.
func gc(e *env) error {
	if e.cfg.Server == "" {
		return fmt.Errorf("gc: [dom0] server is not set in %s: gc asks the lease server which VLANs are live", e.c.String("config"))
	}
	host := e.cfg.Host
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("gc: host name: %w", err)
		}
		host = h
	}
	leases, err := client.New(e.cfg.Server, e.cfg.Token.Reveal()).List(e.ctx)
	if err != nil {
		if client.Unreachable(err) {
			return fmt.Errorf("gc: lease server %s unreachable, nothing removed: %w", e.cfg.Server, err)
		}
		return fmt.Errorf("gc: lease server %s refused the lease list, nothing removed: %w", e.cfg.Server, err)
	}
	live := Placements(leases, host)
	if e.c.Bool("dry-run") {
		return dryRun(e, live)
	}
	removed, err := e.host.GC(e.ctx, live)
	for _, v := range removed {
		fmt.Fprintf(e.c.App.Writer, "removed VLAN %d\n", v)
	}
	return err
}

func dryRun(e *env, live []dom0.Placement) error {
	st, err := e.host.Status(e.ctx)
	if err != nil {
		return err
	}
	keep := map[int]bool{}
	for _, p := range live {
		keep[p.VLAN] = true
	}
	for _, s := range st {
		if !keep[s.VLAN] {
			fmt.Fprintf(e.c.App.Writer, "would remove VLAN %d (ports %v, jobs %v)\n", s.VLAN, s.Ports, s.Jobs)
		}
	}
	return nil
}

// Placements picks the leases that are live (not released or failed), have
// a VLAN and name host, compared without case and domain.
func Placements(leases []client.Lease, host string) []dom0.Placement {
	short := func(s string) string { return strings.ToLower(strings.SplitN(s, ".", 2)[0]) }
	var out []dom0.Placement
	for _, l := range leases {
		if l.State == api.StateReleased || l.State == api.StateFailed || l.VLAN == 0 {
			continue
		}
		for _, h := range l.Hosts {
			if short(h) == short(host) {
				out = append(out, dom0.Placement{Job: l.Job, VLAN: l.VLAN})
				break
			}
		}
	}
	return out
}
