// Package plan computes the exact switch port memberships a lease needs: its
// hosts' trunk ports, the ports of the infrastructure services it asked for,
// for a cluster published directly each site router's port and, when those
// lie on more than one switch, the uplinks of every switch of the sites it
// spans, toward the L2 core that joins them. The plan is pure data, so
// apply, rollback, teardown, migration and the reconciler all agree on it.
package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
)

// Plan is, per switch name, the sorted ports that carry the lease's VLAN.
type Plan map[string][]string

// Switches lists the plan's switches in a stable order.
func (p Plan) Switches() []string { return slices.Sorted(maps.Keys(p)) }

// Services lists the services a lease asked for (attribute services=a+b).
func Services(attrs map[string]string) []string {
	if attrs["services"] == "" {
		return nil
	}
	return strings.Split(attrs["services"], "+")
}

// Sites is every site a lease spans: its hosts' sites and its services'.
func Sites(cfg *config.Config, hosts []string, attrs map[string]string) []string {
	var sites []string
	for _, h := range hosts {
		if host := cfg.Hosts[h]; host != nil {
			sites = append(sites, host.Site)
		}
	}
	for _, s := range Services(attrs) {
		if svc := cfg.Services[s]; svc != nil {
			sites = append(sites, svc.Site)
		}
	}
	slices.Sort(sites)
	return slices.Compact(sites)
}

// Reach is where a lease's VLAN travels: the sites it spans and, when its
// ports lie on more than one switch or site, the L2 core its uplinks join.
// Two leases whose reaches share a site or a core must not share a VLAN.
type Reach struct {
	Sites []string
	Core  string // "" when the lease stays on one switch
}

// ReachOf computes a lease's reach from the configuration. It refuses a
// lease whose sites lie on different cores: no L2 path joins them.
func ReachOf(cfg *config.Config, hosts []string, attrs map[string]string) (Reach, error) {
	r := Reach{Sites: Sites(cfg, hosts, attrs)}
	p, err := For(cfg, &api.Lease{Hosts: hosts, Sites: r.Sites, Attributes: attrs})
	if err != nil {
		return r, err
	}
	if len(r.Sites) < 2 && len(p) < 2 {
		return r, nil
	}
	for _, site := range r.Sites {
		core := cfg.Sites[site].Core
		if r.Core != "" && core != r.Core {
			return r, fmt.Errorf("sites %s and %s lie on different L2 cores (%s, %s): no cluster can span them", r.Sites[0], site, r.Core, core)
		}
		r.Core = core
	}
	return r, nil
}

// For computes a lease's plan. Hosts without a switch are pre-provisioned
// and contribute nothing.
func For(cfg *config.Config, l *api.Lease) (Plan, error) {
	p := Plan{}
	add := func(sw string, ports ...string) {
		p[sw] = append(p[sw], ports...)
	}
	for _, h := range l.Hosts {
		host := cfg.Hosts[h]
		if host == nil {
			return nil, fmt.Errorf("plan: host %q is not in the configuration", h)
		}
		if host.Switch != "" {
			add(host.Switch, host.TrunkPorts()...)
		}
	}
	for _, s := range Services(l.Attributes) {
		svc := cfg.Services[s]
		if svc == nil {
			return nil, fmt.Errorf("plan: service %q is not in the configuration", s)
		}
		add(svc.Switch, svc.Ports...)
	}
	for _, site := range l.Sites {
		for name, sw := range cfg.Switches {
			if l.Core != "" && sw.Site == site && len(sw.Uplinks) > 0 {
				add(name, sw.Uplinks...)
			}
		}
		if s := cfg.Sites[site]; s != nil && s.RouterSwitch != "" && l.Attributes["publish"] == "direct" {
			add(s.RouterSwitch, s.RouterPort)
		}
	}
	for sw, ports := range p {
		slices.Sort(ports)
		p[sw] = slices.Compact(ports)
	}
	return p, nil
}

// Diff says what changes from one plan to the next: ports to add and remove
// per switch, and the switches that carry nothing any more.
func Diff(from, to Plan) (add, remove Plan, gone []string) {
	add, remove = Plan{}, Plan{}
	for sw, ports := range to {
		for _, port := range ports {
			if !slices.Contains(from[sw], port) {
				add[sw] = append(add[sw], port)
			}
		}
	}
	for sw, ports := range from {
		for _, port := range ports {
			if !slices.Contains(to[sw], port) {
				remove[sw] = append(remove[sw], port)
			}
		}
		if len(to[sw]) == 0 {
			gone = append(gone, sw)
		}
	}
	slices.Sort(gone)
	return add, remove, gone
}

// Merge is the union of two plans.
func Merge(a, b Plan) Plan {
	out := Plan{}
	for _, p := range []Plan{a, b} {
		for sw, ports := range p {
			out[sw] = append(out[sw], ports...)
		}
	}
	for sw, ports := range out {
		slices.Sort(ports)
		out[sw] = slices.Compact(ports)
	}
	return out
}
