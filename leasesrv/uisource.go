package leasesrv

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/leasesrv/ui"
)

// uiSource gives the status page (package ui) what it shows: the store's
// leases and VLAN states, and each switch as the reconciler's last pass
// found it. That last pass is read from the reconciler's metrics in the
// server's registry, which keep every switch's last result; the page never
// reads a device itself.
type uiSource struct {
	s    *Service
	auth *authenticator
}

// Reader accepts every token of any role: all roles may read.
func (u uiSource) Reader(token string) (string, bool) {
	r := &http.Request{Header: http.Header{"Authorization": {"Bearer " + token}}}
	p, ok := u.auth.authenticate(r)
	if !ok || !p.may(actRead) {
		return "", false
	}
	return p.name, true
}

func (u uiSource) History(ctx context.Context, job string) ([]api.Event, error) {
	if _, err := u.s.Get(ctx, job); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ui.ErrNoLease
		}
		u.s.log.Error("status page: store unavailable", "err", err)
		return nil, err
	}
	ev, err := u.s.st.History(ctx, job)
	if err != nil {
		u.s.log.Error("status page: store unavailable", "err", err)
	}
	return ev, err
}

func (u uiSource) Status(ctx context.Context) (*ui.Status, error) {
	st, err := u.status(ctx)
	if err != nil && ctx.Err() == nil {
		u.s.log.Error("status page: store unavailable", "err", err)
	}
	return st, err
}

func (u uiSource) status(ctx context.Context) (*ui.Status, error) {
	ls, err := u.s.st.List(ctx)
	if err != nil {
		return nil, err
	}
	// Live leases first, each group by job, as List sorts them.
	slices.SortStableFunc(ls, func(a, b api.Lease) int {
		switch la, lb := a.State.Live(), b.State.Live(); {
		case la && !lb:
			return -1
		case lb && !la:
			return 1
		}
		return 0
	})
	owner := map[string]string{}
	for _, l := range ls {
		owner[l.Job] = l.Owner
	}
	st := &ui.Status{At: time.Now(), Leases: ls}
	for _, site := range slices.Sorted(maps.Keys(u.s.cfg.Sites)) {
		vs, err := u.s.st.VLANs(ctx, site)
		if err != nil {
			return nil, err
		}
		cells := make([]ui.VLAN, len(vs))
		for i, v := range vs {
			cells[i] = ui.VLAN{VID: v.VID, State: v.State, Job: v.Job, Owner: owner[v.Job]}
		}
		st.Sites = append(st.Sites, ui.Site{Name: site, VLANs: cells})
	}
	st.Switches, st.AuditAt = u.lastAudit()
	return st, nil
}

// lastAudit joins the configured switches with the reconciler's gauges:
// virtcloud_audit_switch_reachable, virtcloud_audit_findings and
// virtcloud_audit_last_run_timestamp_seconds.
func (u uiSource) lastAudit() ([]ui.Switch, time.Time) {
	byName := map[string]*ui.Switch{}
	var out []ui.Switch
	for _, name := range slices.Sorted(maps.Keys(u.s.cfg.Switches)) {
		sw := u.s.cfg.Switches[name]
		out = append(out, ui.Switch{Name: name, Site: sw.Site, Driver: sw.Driver, Address: sw.Address})
	}
	for i := range out {
		byName[out[i].Name] = &out[i]
	}
	var at time.Time
	families, _ := u.s.metrics.reg.Gather()
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			sw := byName[labels["switch"]]
			switch f.GetName() {
			case "virtcloud_audit_last_run_timestamp_seconds":
				if v := m.GetGauge().GetValue(); v > 0 {
					at = time.UnixMilli(int64(v * 1000)).UTC()
				}
			case "virtcloud_audit_switch_reachable":
				if sw != nil {
					sw.Audited, sw.Reachable = true, m.GetGauge().GetValue() == 1
				}
			case "virtcloud_audit_findings":
				if sw != nil {
					if sw.Drift == nil {
						sw.Drift = map[string]int{}
					}
					sw.Drift[labels["kind"]] = int(m.GetGauge().GetValue())
				}
			}
		}
	}
	return out, at
}
