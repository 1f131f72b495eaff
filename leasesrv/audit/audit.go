// Package audit is the reconciler of the lease server: it reads each managed
// switch's actual VLAN table, compares it with what the live leases explain
// within the managed VLAN ranges, reports the drift (orphan VLANs, missing
// memberships, extra ports) and, when asked, repairs it under the same
// per-switch locks and fencing checks as every other device write. VLANs
// outside the managed ranges are never read into a finding, so never changed.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/leasesrv/plan"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// ErrUnknownSwitch: the switch named is not in the configuration.
var ErrUnknownSwitch = errors.New("no such switch in the configuration")

// Reconciler audits and repairs the switches of one lease server.
type Reconciler struct {
	cfg     *config.Config
	st      *store.Store
	fleet   *switchdrv.Fleet // the drivers, shared with the lease server's transactions
	log     *slog.Logger
	metrics *metrics
	reads   *readings // device reads of the API, shared and rate-limited
}

// New makes the reconciler of the switches of fleet.
func New(cfg *config.Config, st *store.Store, fleet *switchdrv.Fleet, log *slog.Logger) *Reconciler {
	return &Reconciler{cfg: cfg, st: st, fleet: fleet, log: log, metrics: newMetrics(), reads: newReadings(cfg.Server.DeviceReadInterval.Duration)}
}

// Options choose what one pass does.
type Options struct {
	Switch string // only this switch; "" for all
	Fix    bool   // repair what is found
}

// Switches lists the configured switches, sorted by name.
func (r *Reconciler) Switches() []api.Switch {
	var out []api.Switch
	for _, name := range slices.Sorted(maps.Keys(r.cfg.Switches)) {
		sw := r.cfg.Switches[name]
		out = append(out, api.Switch{Name: name, Site: sw.Site, Driver: sw.Driver, Address: sw.Address, Uplinks: slices.Clone(sw.Uplinks)})
	}
	return out
}

// VLANs reads what a device reports: every VLAN, or only vid when vid > 0
// (an empty list when the device does not have it).
func (r *Reconciler) VLANs(ctx context.Context, name string, vid int) ([]switchdrv.VLAN, error) {
	drv, err := r.driver(name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Switches[name].Timeout.Duration)
	defer cancel()
	if vid > 0 {
		v, found, err := drv.VLAN(ctx, vid)
		if err != nil || !found {
			return []switchdrv.VLAN{}, err
		}
		return []switchdrv.VLAN{v}, nil
	}
	return drv.VLANs(ctx)
}

func (r *Reconciler) driver(name string) (switchdrv.Driver, error) {
	if r.cfg.Switches[name] == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSwitch, name)
	}
	return r.fleet.Driver(name)
}

// Run makes one audit pass over every switch (or one), in parallel, and
// returns its report. A switch that does not answer is reported as
// unreachable; only a failure to read the leases fails the whole pass.
func (r *Reconciler) Run(ctx context.Context, o Options) (*api.AuditReport, error) {
	names := slices.Sorted(maps.Keys(r.cfg.Switches))
	if o.Switch != "" {
		if r.cfg.Switches[o.Switch] == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownSwitch, o.Switch)
		}
		names = []string{o.Switch}
	}
	exp, err := r.expected(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: read leases: %w", err)
	}
	rep := &api.AuditReport{At: time.Now().UTC(), Fix: o.Fix, Switches: make([]api.SwitchReport, len(names)), Counts: map[string]int{}}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(r.cfg.Server.Parallel, 1))
	for i, name := range names {
		g.Go(func() error {
			rep.Switches[i] = r.auditSwitch(gctx, name, exp, o.Fix)
			return nil
		})
	}
	_ = g.Wait() // each switch's failure is in its report; the goroutines return nil
	for _, s := range rep.Switches {
		if !s.Reachable {
			rep.Unreachable++
			rep.Counts["unreachable"]++
		}
		for _, f := range s.Findings {
			rep.Counts[f.Kind]++
			if f.Fixed {
				rep.Counts["fixed"]++
			} else {
				rep.Drift++
			}
		}
		r.metrics.observe(s)
	}
	r.metrics.lastRun.SetToCurrentTime()
	return rep, nil
}

// RunEvery audits every interval until ctx ends, repairing when fix is set,
// and logs what it found. A zero interval turns the background pass off.
func (r *Reconciler) RunEvery(ctx context.Context, every time.Duration, fix bool) {
	if every <= 0 || len(r.cfg.Switches) == 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := r.Run(ctx, Options{Fix: fix})
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("audit pass failed", "err", err)
			}
			continue
		}
		for _, s := range rep.Switches {
			if !s.Reachable {
				r.log.Warn("audit: switch unreachable", "switch", s.Switch, "err", s.Error)
			}
			for _, f := range s.Findings {
				r.log.Warn("audit: drift", "switch", f.Switch, "kind", f.Kind, "vlan", f.VLAN, "ports", strings.Join(f.Ports, ","),
					"job", f.Lease, "fixed", f.Fixed, "err", f.Error)
			}
		}
	}
}

// wanted is what one lease needs on one switch.
type wanted struct {
	job   string
	token int64
	ports []string
}

// expectation is what the live leases say about each switch: VLAN -> the
// lease and ports that need it, and the VLANs in flux (being committed,
// released or migrated), which are left alone.
type expectation map[string]*switchExp

type switchExp struct {
	want map[int]wanted
	flux map[int]bool
}

func (e expectation) sw(name string) *switchExp {
	if e[name] == nil {
		e[name] = &switchExp{want: map[int]wanted{}, flux: map[int]bool{}}
	}
	return e[name]
}

// expected reads every lease and unfinished journal from the store.
func (r *Reconciler) expected(ctx context.Context) (expectation, error) {
	leases, err := r.st.List(ctx)
	if err != nil {
		return nil, err
	}
	journaled, err := r.st.Journals(ctx)
	if err != nil {
		return nil, err
	}
	exp := expectation{}
	for i := range leases {
		l := leases[i].Carried()
		p, perr := plan.For(r.cfg, l)
		inFlux := l.State == api.StateCommitting || l.State == api.StateReleasing || slices.Contains(journaled, l.Job) || leases[i].Residue != nil
		switch {
		case inFlux || (l.State == api.StateActive && perr != nil):
			// Its VLAN may be anywhere on its sites' switches right now.
			for name, sw := range r.cfg.Switches {
				if slices.Contains(l.Sites, sw.Site) || p[name] != nil {
					exp.sw(name).flux[l.VLAN] = true
				}
			}
		case l.State == api.StateActive:
			for name, ports := range p {
				w := exp.sw(name).want[l.VLAN]
				if w.job == "" {
					w.job, w.token = l.Job, l.Token
				}
				w.ports = union(w.ports, ports)
				exp.sw(name).want[l.VLAN] = w
			}
		}
	}
	return exp, nil
}

// diff compares a device's VLAN table with what the leases explain, within
// the switch's managed ranges.
func (r *Reconciler) diff(name string, vlans []switchdrv.VLAN, e *switchExp) (fs []api.Finding, flux []int) {
	if e == nil {
		e = &switchExp{}
	}
	seen := map[int]bool{}
	for _, v := range vlans {
		if !r.fleet.Managed(name, v.ID) {
			continue
		}
		seen[v.ID] = true
		if e.flux[v.ID] {
			flux = append(flux, v.ID)
			continue
		}
		ports := union(v.Tagged, v.Untagged) // an empty VLAN is still an orphan
		w, ok := e.want[v.ID]
		if !ok {
			fs = append(fs, api.Finding{Switch: name, Kind: api.DriftOrphan, VLAN: v.ID, Ports: ports})
			continue
		}
		if miss := minus(w.ports, ports); len(miss) > 0 {
			fs = append(fs, api.Finding{Switch: name, Kind: api.DriftMissing, VLAN: v.ID, Ports: miss, Lease: w.job})
		}
		if extra := minus(ports, w.ports); len(extra) > 0 {
			fs = append(fs, api.Finding{Switch: name, Kind: api.DriftExtra, VLAN: v.ID, Ports: extra, Lease: w.job})
		}
	}
	for _, vid := range slices.Sorted(maps.Keys(e.want)) {
		if !seen[vid] && !e.flux[vid] && r.fleet.Managed(name, vid) {
			w := e.want[vid]
			fs = append(fs, api.Finding{Switch: name, Kind: api.DriftMissing, VLAN: vid, Ports: slices.Clone(w.ports), Lease: w.job})
		}
	}
	slices.SortStableFunc(fs, func(a, b api.Finding) int { return a.VLAN - b.VLAN })
	slices.Sort(flux)
	return fs, flux
}

// auditSwitch reads one switch and, with fix, repairs it under its lock from
// a fresh reading of both the device and the leases.
func (r *Reconciler) auditSwitch(ctx context.Context, name string, exp expectation, fix bool) api.SwitchReport {
	rep := api.SwitchReport{Switch: name, Site: r.cfg.Switches[name].Site, Findings: []api.Finding{}}
	vlans, err := r.VLANs(ctx, name, 0)
	if err != nil {
		rep.Error = oneLine(err)
		return rep
	}
	rep.Reachable = true
	fs, flux := r.diff(name, vlans, exp[name])
	if !fix || len(fs) == 0 {
		rep.Findings, rep.InFlux = nonNil(fs), flux
		return rep
	}
	fs, flux, err = r.repair(ctx, name)
	if err != nil {
		rep.Error = oneLine(err)
	}
	rep.Findings, rep.InFlux = nonNil(fs), flux
	return rep
}

// repair takes the switch's lock, reads device and leases afresh, and fixes
// each finding through the driver, checking right before each write that
// the lease concerned is still active with the same token (orphans: that no
// live lease took the VLAN meanwhile).
func (r *Reconciler) repair(ctx context.Context, name string) ([]api.Finding, []int, error) {
	sw := r.cfg.Switches[name]
	drv, err := r.driver(name)
	if err != nil {
		return nil, nil, err
	}
	lock, err := r.st.LockSwitch(ctx, name, 2*sw.Timeout.Duration+5*time.Second)
	if err != nil {
		return nil, nil, fmt.Errorf("lock switch %s: %w", name, err)
	}
	defer func() {
		// A lock not released expires by itself after its TTL.
		if err := r.st.Unlock(context.WithoutCancel(ctx), lock); err != nil {
			r.log.Warn("switch lock not released, it expires", "switch", name, "err", err)
		}
	}()
	exp, err := r.expected(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read leases: %w", err)
	}
	vlans, err := r.VLANs(ctx, name, 0)
	if err != nil {
		return nil, nil, err
	}
	fs, flux := r.diff(name, vlans, exp[name])
	for i := range fs {
		f := &fs[i]
		if err := r.fixOne(ctx, lock, drv, f, exp.sw(name).want[f.VLAN]); err != nil {
			f.Error = oneLine(err)
			r.log.Warn("audit: not fixed", "switch", name, "kind", f.Kind, "vlan", f.VLAN, "job", f.Lease, "err", err)
			continue
		}
		f.Fixed = true
		r.metrics.fixes.WithLabelValues(name, f.Kind).Inc()
		r.log.Info("audit: fixed", "switch", name, "kind", f.Kind, "vlan", f.VLAN, "ports", strings.Join(f.Ports, ","), "job", f.Lease)
	}
	return fs, flux, nil
}

func (r *Reconciler) fixOne(ctx context.Context, lock *store.Lock, drv switchdrv.Driver, f *api.Finding, w wanted) error {
	sw := r.cfg.Switches[f.Switch]
	c := switchdrv.Change{VLAN: f.VLAN, Name: switchdrv.RenderName(sw.VLANName, f.VLAN)}
	switch f.Kind {
	case api.DriftOrphan:
		if err := r.stillOrphan(ctx, f.Switch, f.VLAN); err != nil {
			return err
		}
		c.Remove, c.Delete = f.Ports, true
	case api.DriftMissing, api.DriftExtra:
		if err := r.st.Guard(ctx, lock, w.job, w.token, api.StateActive); err != nil {
			return fmt.Errorf("not writing for lease %s: %w", w.job, err)
		}
		if f.Kind == api.DriftMissing {
			c.Add = f.Ports
		} else {
			c.Remove = f.Ports
		}
	}
	dctx, cancel := context.WithTimeout(ctx, sw.Timeout.Duration)
	defer cancel()
	return drv.Apply(dctx, c)
}

// stillOrphan re-reads, right before a VLAN is deleted, who holds it at the
// switch's site: a lease that took it since the switch was read (being
// committed, or active with this switch in its plan) keeps it.
func (r *Reconciler) stillOrphan(ctx context.Context, name string, vid int) error {
	job, err := r.st.Owner(ctx, r.cfg.Switches[name].Site, vid)
	if err != nil || job == "" {
		return err
	}
	l, err := r.st.Get(ctx, job)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch l.State {
	case api.StateCommitting, api.StateReleasing:
		return fmt.Errorf("lease %s is %s on this vlan now; left alone", job, l.State)
	case api.StateActive:
		if j, err := r.st.JournalGet(ctx, job); err != nil || j != nil {
			return fmt.Errorf("lease %s is being migrated; left alone", job)
		}
		if p, err := plan.For(r.cfg, l); err != nil || p[name] != nil {
			return fmt.Errorf("lease %s now explains this vlan; left alone", job)
		}
	}
	return nil
}

func union(a, b []string) []string {
	out := append(make([]string, 0, len(a)+len(b)), a...)
	out = append(out, b...)
	slices.Sort(out)
	return slices.Compact(out)
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func nonNil(fs []api.Finding) []api.Finding {
	if fs == nil {
		return []api.Finding{}
	}
	return fs
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
