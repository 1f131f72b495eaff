package isolation

import (
	"fmt"
	"testing"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
)

const topology = `
[sites.brno]
vlans = ["100-139"]
[sites.praha]
vlans = ["110-149"]
[sites.ostrava]
vlans = ["100-149"]
core = "east"
[switches.b1]
site = "brno"
driver = "snmp"
address = "127.0.0.1:161"
community = "private"
uplinks = ["49"]
[switches.p1]
site = "praha"
driver = "snmp"
address = "127.0.0.1:162"
community = "private"
uplinks = ["49"]
[switches.o1]
site = "ostrava"
driver = "snmp"
address = "127.0.0.1:163"
community = "private"
uplinks = ["49"]
[hosts.alice1]
site = "brno"
switch = "b1"
port = "1"
[hosts.alice2]
site = "brno"
switch = "b1"
port = "2"
[hosts.bob1]
site = "praha"
switch = "p1"
port = "1"
[hosts.carol1]
site = "ostrava"
switch = "o1"
port = "1"
`

func vlan(ports ...string) []switchdrv.VLAN {
	return []switchdrv.VLAN{{ID: 110, Tagged: ports}}
}

func lease(job string, state api.State, hosts ...string) api.Lease {
	return api.Lease{Job: job, VLAN: 110, State: state, Hosts: hosts}
}

func TestCheck(t *testing.T) {
	cfg, err := config.Parse("t.toml", []byte(topology))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		tables Tables
		leases []api.Lease
		want   string // problems found, as "problem:leases:strays"
	}{
		{"single-site leases at two sites reuse a VLAN",
			Tables{"b1": vlan("1"), "p1": vlan("1")},
			[]api.Lease{lease("a", api.StateActive, "alice1"), lease("b", api.StateActive, "bob1")}, "[]"},
		{"the core joins them once both uplinks carry it",
			Tables{"b1": vlan("1", "49"), "p1": vlan("1", "49")},
			[]api.Lease{lease("a", api.StateActive, "alice1"), lease("b", api.StateActive, "bob1")}, "[shared:[a b]:[]]"},
		{"another core does not",
			Tables{"b1": vlan("1", "49"), "o1": vlan("1", "49")},
			[]api.Lease{lease("a", api.StateActive, "alice1"), lease("c", api.StateActive, "carol1")}, "[]"},
		{"a host the lease left still carries the VLAN",
			Tables{"b1": vlan("1", "2")},
			[]api.Lease{lease("a", api.StateActive, "alice1")}, "[shared:[a]:[alice2]]"},
		{"a migration's residue is still the lease's own",
			Tables{"b1": vlan("1", "2")},
			[]api.Lease{{Job: "a", VLAN: 110, State: api.StateActive, Hosts: []string{"alice1"}, Residue: &api.Residue{Hosts: []string{"alice2"}}}}, "[]"},
		{"an ended lease explains nothing",
			Tables{"b1": vlan("1", "49"), "p1": vlan("1", "49")},
			[]api.Lease{lease("a", api.StateActive, "alice1"), lease("b", api.StateReleased, "bob1")}, "[shared:[a]:[bob1]]"},
		{"a multi-site lease across the core is one network",
			Tables{"b1": vlan("1", "49"), "p1": vlan("1", "49")},
			[]api.Lease{lease("m", api.StateActive, "alice1", "bob1")}, "[]"},
		{"without the uplink it is split",
			Tables{"b1": vlan("1", "49"), "p1": vlan("1")},
			[]api.Lease{lease("m", api.StateActive, "alice1", "bob1")}, "[split:[m]:[]]"},
		{"a host that lost its port is cut off",
			Tables{"b1": vlan("1")},
			[]api.Lease{lease("m", api.StateActive, "alice1", "alice2")}, "[split:[m]:[]]"},
	} {
		var got []string
		for _, f := range Check(cfg, c.tables, c.leases) {
			got = append(got, fmt.Sprintf("%s:%v:%v", f.Problem, f.Leases, f.Strays))
			if f.Detail == "" || len(f.Component) == 0 {
				t.Errorf("%s: finding without its component or detail: %+v", c.name, f)
			}
		}
		if s := fmt.Sprint(got); s != c.want && !(c.want == "[]" && got == nil) {
			t.Errorf("%s: found %s, want %s", c.name, s, c.want)
		}
	}
}
