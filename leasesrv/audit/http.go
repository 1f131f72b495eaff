package audit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/httpapi"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// Endpoints are the switch and audit routes, for Service.Handler:
//
//	GET  /v1/switches                configured switches
//	GET  /v1/switches/{name}?vlan=N  what the device reports
//	GET  /v1/audit?switch=S          audit, report only
//	POST /v1/audit?switch=S&fix=true audit and repair (admins)
//	GET  /v1/audit/isolation         the L2 networks the switches form, checked
//
// For any role but admin the first two GETs read the devices at most once
// per device_read_interval: callers asking meanwhile share that read, later
// ones get it with its age. Admins always read now (sharing a read already
// running), so only they can load the devices at will.
func (r *Reconciler) Endpoints() []httpapi.Endpoint {
	return []httpapi.Endpoint{
		{Pattern: "GET /v1/switches", Handle: r.hList},
		{Pattern: "GET /v1/switches/{name}", Handle: r.hShow},
		{Pattern: "GET /v1/audit", Handle: func(req *http.Request) (int, any, error) { return r.hAudit(req, false) }},
		{Pattern: "POST /v1/audit", Admin: true, Handle: func(req *http.Request) (int, any, error) { return r.hAudit(req, true) }},
		{Pattern: "GET /v1/audit/isolation", Handle: r.hIsolation},
	}
}

func (r *Reconciler) hList(*http.Request) (int, any, error) {
	sws := r.Switches()
	if sws == nil {
		sws = []api.Switch{}
	}
	return http.StatusOK, sws, nil
}

func (r *Reconciler) hShow(req *http.Request) (int, any, error) {
	name := req.PathValue("name")
	if r.cfg.Switches[name] == nil {
		return 0, nil, &httpapi.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Msg: fmt.Sprintf("no switch %q in the configuration", name)}
	}
	vid := 0
	if s := req.URL.Query().Get("vlan"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 4094 {
			return 0, nil, httpapi.BadInput("vlan: %q is not a VLAN ID (1-4094)", s)
		}
		vid = n
	}
	rd := r.reads.get(req.Context(), "switch "+name, httpapi.Admin(req), func(ctx context.Context) (any, error) {
		return r.VLANs(ctx, name, 0)
	})
	if rd.err != nil {
		return 0, nil, deviceError(name, rd.err)
	}
	vlans := rd.val.([]api.VLAN)
	if vid > 0 { // the reading is shared: filter a copy
		vlans = slices.DeleteFunc(slices.Clone(vlans), func(v api.VLAN) bool { return v.ID != vid })
	}
	return http.StatusOK, api.SwitchVLANs{Switch: name, VLANs: vlans, ReadAt: rd.at.UTC(), AgeSeconds: rd.age()}, nil
}

func (r *Reconciler) hAudit(req *http.Request, post bool) (int, any, error) {
	q := req.URL.Query()
	o := Options{Switch: q.Get("switch")}
	if o.Switch != "" && r.cfg.Switches[o.Switch] == nil {
		return 0, nil, &httpapi.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Msg: fmt.Sprintf("switch: no switch %q in the configuration", o.Switch)}
	}
	if s := q.Get("fix"); s != "" {
		fix, err := strconv.ParseBool(s)
		if err != nil {
			return 0, nil, httpapi.BadInput("fix: %q is not true or false", s)
		}
		if fix && !post {
			return 0, nil, httpapi.BadInput("fix: repairs need POST /v1/audit?fix=true")
		}
		o.Fix = fix
	}
	if post {
		rep, err := r.Run(req.Context(), o)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, rep, nil
	}
	rd := r.reads.get(req.Context(), "audit "+o.Switch, httpapi.Admin(req), func(ctx context.Context) (any, error) {
		return r.Run(ctx, o)
	})
	if rd.err != nil {
		return 0, nil, rd.err
	}
	rep := *rd.val.(*api.AuditReport) // shared with other callers: a copy gets the age
	rep.AgeSeconds = rd.age()
	return http.StatusOK, &rep, nil
}

// deviceError answers a failed device read: 502 with the driver's words.
func deviceError(name string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if switchdrv.KindOf(err) == 0 {
		err = fmt.Errorf("switch %s: %w", name, err)
	}
	return &httpapi.Error{Status: http.StatusBadGateway, Code: api.CodeNetworkFault, Msg: err.Error()}
}

// hIsolation reads every switch: shared and rate-limited like an audit.
func (r *Reconciler) hIsolation(req *http.Request) (int, any, error) {
	rd := r.reads.get(req.Context(), "isolation", httpapi.Admin(req), func(ctx context.Context) (any, error) {
		return r.Isolation(ctx)
	})
	if rd.err != nil {
		return 0, nil, rd.err
	}
	rep := *rd.val.(*api.Isolation)
	rep.AgeSeconds = rd.age()
	return http.StatusOK, &rep, nil
}
