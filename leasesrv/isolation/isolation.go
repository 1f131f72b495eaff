// Package isolation proves the promise VirtCloud makes, that every virtual
// cluster has a private L2 network, from the switches' own VLAN tables and
// the topology in the configuration, never from the lease database alone.
//
// The model: a switch is one L2 bridge; a VLAN on one of its uplinks joins
// it to the L2 core of its site, which carries every VLAN between all the
// uplinks that lead to it; cores are not joined to each other. Per VLAN the
// switches and cores it joins form connected components, and a host whose
// trunk port carries the VLAN sits in its switch's component. The rule:
// each component holds the hosts of at most one live lease (and no host of
// none), and each active lease's hosts sit in one component.
package isolation

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// Tables are the switches' VLAN tables as their drivers read them.
type Tables map[string][]switchdrv.VLAN

// Check finds every component that breaks the rule. Hosts without a switch
// (pre-provisioned) are outside what the devices can prove and are left out.
func Check(cfg *config.Config, tables Tables, leases []api.Lease) []api.IsolationFinding {
	var out []api.IsolationFinding
	for _, vid := range vlansIn(tables) {
		out = append(out, checkVLAN(cfg, tables, leases, vid)...)
	}
	return out
}

// VLANs counts the VLANs Check looks at.
func VLANs(tables Tables) int { return len(vlansIn(tables)) }

func vlansIn(tables Tables) []int {
	seen := map[int]bool{}
	for _, vlans := range tables {
		for _, v := range vlans {
			seen[v.ID] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// component is one L2 network of one VLAN.
type component struct {
	nodes []string // switches and "core:NAME"
	hosts []string
}

func checkVLAN(cfg *config.Config, tables Tables, leases []api.Lease, vid int) []api.IsolationFinding {
	uf := unionFind{}
	carrying := map[string][]string{} // switch -> ports carrying vid
	for sw, vlans := range tables {
		for _, v := range vlans {
			if v.ID == vid {
				carrying[sw] = append(slices.Clone(v.Tagged), v.Untagged...)
				uf.add(sw)
			}
		}
	}
	for sw, ports := range carrying {
		c := cfg.Switches[sw]
		if c == nil {
			continue
		}
		if slices.ContainsFunc(c.Uplinks, func(p string) bool { return slices.Contains(ports, p) }) {
			uf.union(sw, "core:"+cfg.Sites[c.Site].Core)
		}
	}
	comps := map[string]*component{}
	hostComp := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(cfg.Hosts)) {
		h := cfg.Hosts[name]
		ports, ok := carrying[h.Switch]
		if !ok || !slices.ContainsFunc(h.TrunkPorts(), func(p string) bool { return slices.Contains(ports, p) }) {
			continue
		}
		root := uf.find(h.Switch)
		hostComp[name] = root
		compOf(comps, root).hosts = append(compOf(comps, root).hosts, name)
	}
	for node := range uf.parent {
		c := compOf(comps, uf.find(node))
		c.nodes = append(c.nodes, node)
	}

	// Which live lease each host of this VLAN belongs to (its residue too:
	// a migration's leftovers stay the lease's own until removed).
	owner := map[string][]string{}
	var live []api.Lease
	for _, l := range leases {
		if l.VLAN != vid || !l.State.Live() {
			continue
		}
		live = append(live, l)
		for _, h := range l.Carried().Hosts {
			owner[h] = append(owner[h], l.Job)
		}
	}

	var out []api.IsolationFinding
	for _, root := range slices.Sorted(maps.Keys(comps)) {
		c := comps[root]
		if len(c.hosts) == 0 {
			continue
		}
		jobs, strays := map[string]bool{}, []string(nil)
		for _, h := range c.hosts {
			if len(owner[h]) == 0 {
				strays = append(strays, h)
			}
			for _, j := range owner[h] {
				jobs[j] = true
			}
		}
		if len(jobs) > 1 || len(jobs) == 1 && len(strays) > 0 {
			f := finding(vid, api.IsolationShared, c, slices.Sorted(maps.Keys(jobs)))
			f.Strays = strays
			f.Detail = fmt.Sprintf("VLAN %d joins %s into one L2 network holding the hosts of %s", vid, strings.Join(f.Component, ", "), describe(f.Leases, strays))
			out = append(out, f)
		}
	}
	for _, l := range live {
		if l.State != api.StateActive {
			continue
		}
		roots := map[string]bool{}
		var cut []string
		for _, h := range l.Hosts {
			if cfg.Hosts[h] == nil || cfg.Hosts[h].Switch == "" {
				continue
			}
			if r, ok := hostComp[h]; ok {
				roots[r] = true
			} else {
				cut = append(cut, h)
			}
		}
		if len(roots) > 1 || len(cut) > 0 {
			var nodes []string
			for r := range roots {
				nodes = append(nodes, comps[r].nodes...)
			}
			f := finding(vid, api.IsolationSplit, &component{nodes: nodes, hosts: l.Hosts}, []string{l.Job})
			f.Detail = fmt.Sprintf("active lease %s on VLAN %d spans %d L2 networks", l.Job, vid, len(roots))
			if len(cut) > 0 {
				f.Detail += fmt.Sprintf("; hosts %s do not carry the VLAN", strings.Join(cut, ", "))
			}
			out = append(out, f)
		}
	}
	return out
}

func finding(vid int, problem string, c *component, jobs []string) api.IsolationFinding {
	return api.IsolationFinding{VLAN: vid, Problem: problem, Component: sorted(c.nodes), Hosts: sorted(c.hosts), Leases: jobs}
}

func describe(jobs, strays []string) string {
	parts := []string{}
	if len(jobs) > 0 {
		parts = append(parts, "leases "+strings.Join(jobs, ", "))
	}
	if len(strays) > 0 {
		parts = append(parts, "hosts of no lease on this VLAN ("+strings.Join(strays, ", ")+")")
	}
	return strings.Join(parts, " and ")
}

func compOf(m map[string]*component, root string) *component {
	if m[root] == nil {
		m[root] = &component{}
	}
	return m[root]
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// unionFind joins switches and cores into components.
type unionFind struct{ parent map[string]string }

func (u *unionFind) add(n string) {
	if u.parent == nil {
		u.parent = map[string]string{}
	}
	if _, ok := u.parent[n]; !ok {
		u.parent[n] = n
	}
}

func (u *unionFind) find(n string) string {
	u.add(n)
	for u.parent[n] != n {
		u.parent[n] = u.parent[u.parent[n]]
		n = u.parent[n]
	}
	return n
}

func (u *unionFind) union(a, b string) {
	ra, rb := u.find(a), u.find(b)
	if ra != rb {
		u.parent[ra] = rb
	}
}
