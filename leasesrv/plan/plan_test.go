package plan

import (
	"reflect"
	"slices"
	"testing"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
)

const cfgText = `
[sites.brno]
vlans = ["100-199"]
router_switch = "brno-sw1"
router_port = "48"
[sites.praha]
vlans = ["100-199"]
[switches.brno-sw1]
site = "brno"
driver = "snmp"
address = "127.0.0.1:161"
community = "private"
uplinks = ["24"]
[switches.brno-sw2]
site = "brno"
driver = "snmp"
address = "127.0.0.1:162"
community = "private"
uplinks = ["1", "2"]
[switches.praha-sw1]
site = "praha"
driver = "snmp"
address = "127.0.0.1:163"
community = "private"
uplinks = ["49"]
[hosts.a]
site = "brno"
switch = "brno-sw1"
ports = ["3", "4"]
[hosts.b]
site = "brno"
switch = "brno-sw2"
port = "7"
[hosts.c]
site = "praha"
[services.nfs]
site = "praha"
switch = "praha-sw1"
ports = ["10"]
[publish]
certified_images = ["debian-certified"]
`

func TestPlanCoversHostsUplinksServicesAndRouter(t *testing.T) {
	cfg, err := config.Parse("t.toml", []byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{"services": "nfs", "publish": "direct", "image": "debian-certified"}
	l := &api.Lease{Hosts: []string{"a", "c"}, Attributes: attrs}
	reach, err := ReachOf(cfg, l.Hosts, attrs)
	if err != nil || !reflect.DeepEqual(reach, Reach{Sites: []string{"brno", "praha"}, Core: "default"}) {
		t.Fatalf("reach %+v, %v", reach, err)
	}
	l.Sites, l.Core = reach.Sites, reach.Core
	p, err := For(cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	want := Plan{
		"brno-sw1":  {"24", "3", "4", "48"}, // host a, uplink, router (published directly)
		"brno-sw2":  {"1", "2"},             // only its uplinks: no host of the lease on it
		"praha-sw1": {"10", "49"},           // the NFS service and the uplink; host c is pre-provisioned
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("plan %v, want %v", p, want)
	}
	// Migration of host a to b: port 3, 4 leave brno-sw1, 7 joins brno-sw2.
	l2 := *l
	l2.Hosts = []string{"b", "c"}
	p2, _ := For(cfg, &l2)
	add, remove, gone := Diff(p, p2)
	if !reflect.DeepEqual(add, Plan{"brno-sw2": {"7"}}) || !reflect.DeepEqual(remove, Plan{"brno-sw1": {"3", "4"}}) || gone != nil {
		t.Fatalf("diff add %v remove %v gone %v", add, remove, gone)
	}
	// Leaving brno altogether: its switches carry nothing.
	l3 := &api.Lease{Hosts: []string{"c"}, Sites: []string{"praha"}, Core: "default"}
	p3, _ := For(cfg, l3)
	if _, _, gone := Diff(p, p3); !reflect.DeepEqual(gone, []string{"brno-sw1", "brno-sw2"}) {
		t.Fatalf("gone %v", gone)
	}
}

func TestReachTakesTheCoreOnlyBeyondOneSwitch(t *testing.T) {
	cfg, err := config.Parse("t.toml", []byte(cfgText+`
[hosts.a2]
site = "brno"
switch = "brno-sw1"
port = "5"
[sites.ostrava]
vlans = ["100-199"]
core = "east"
[hosts.o]
site = "ostrava"
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		hosts []string
		attrs map[string]string
		core  string
		err   bool
	}{
		{hosts: []string{"a", "a2"}},                                                         // one switch: no uplink, no core
		{hosts: []string{"a", "b"}, core: "default"},                                         // two switches of one site meet on the core
		{hosts: []string{"a"}, attrs: map[string]string{"services": "nfs"}, core: "default"}, // a service at another site
		{hosts: []string{"c"}},                                                               // pre-provisioned only
		{hosts: []string{"a", "o"}, err: true},                                               // two cores: no L2 path
	} {
		r, err := ReachOf(cfg, c.hosts, c.attrs)
		if (err != nil) != c.err || err == nil && r.Core != c.core {
			t.Errorf("hosts %v attrs %v: reach %+v err %v; want core %q err %v", c.hosts, c.attrs, r, err, c.core, c.err)
		}
		if err != nil {
			continue
		}
		p, _ := For(cfg, &api.Lease{Hosts: c.hosts, Sites: r.Sites, Core: r.Core, Attributes: c.attrs})
		uplinks := slices.Contains(p["brno-sw1"], "24") || slices.Contains(p["praha-sw1"], "49")
		if uplinks != (r.Core != "") {
			t.Errorf("hosts %v: plan %v; uplinks must be configured exactly when the lease takes the core", c.hosts, p)
		}
	}
}
