// Package audittest runs, for tests, a lease server with real switch peers
// and the reconciler's endpoints: brno's switch is a real SNMP agent
// (snmpsimd serving an Arista recording), praha's an emulated Cisco IOS and
// plzen's an emulated Junos, both over SSH.
package audittest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/redistest"
	"github.com/virtcloud/virtcloud/internal/snmpsim"
	"github.com/virtcloud/virtcloud/leasesrv"
	"github.com/virtcloud/virtcloud/leasesrv/audit"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

// Fabric is the lease server, its switches and the reconciler.
type Fabric struct {
	cfg   string
	Srv   *leasetest.Server
	SNMP  *snmpsim.Agent
	Praha *sshemu.Emulator
	Plzen *sshemu.Emulator
	Fleet *switchdrv.Fleet
	Rec   *audit.Reconciler
	// URL serves the lease API with the switch and audit endpoints.
	URL string
}

// Switches are the fabric's switch names.
var Switches = []string{"brno-sw1", "praha-sw1", "plzen-sw1"}

// Start starts the peers and the server for the rest of the test. Hosts
// skirit82-1 (brno-sw1 Ethernet3, Ethernet4), skurut9-1 (praha-sw1
// Gi1/0/9) and konos23-1 (plzen-sw1 ge-0/0/23) are wired; skirit83-1 is
// pre-provisioned. Uplinks: Ethernet48, Gi1/0/48, ge-0/0/47.
func Start(t testing.TB) *Fabric {
	t.Helper()
	f, cfg := Peers(t)
	f.cfg = cfg
	f.serve(t, nil)
	return f
}

// Restart starts another lease server on the same Redis and switches, as
// after the first one's host rebooted; it replaces Srv, Fleet, Rec and URL.
func (f *Fabric) Restart(t testing.TB) {
	t.Helper()
	f.serve(t, f.Srv.Redis)
}

func (f *Fabric) serve(t testing.TB, redis *redistest.Server) {
	f.Srv = leasetest.Start(t, leasetest.Options{Config: f.cfg, Redis: redis,
		Witness: func(cfg *config.Config, st *store.Store, fleet *switchdrv.Fleet) leasesrv.SwitchReader {
			f.Rec = audit.New(cfg, st, fleet, slog.New(slog.NewTextHandler(io.Discard, nil)))
			return f.Rec.Tables
		}})
	f.Fleet = f.Srv.Fleet
	for _, c := range f.Rec.Collectors() {
		f.Srv.Svc.Register(c)
	}
	hs := httptest.NewServer(f.Srv.Svc.Handler(f.Rec.Endpoints()...))
	t.Cleanup(hs.Close)
	f.URL = hs.URL
}

// Peers starts only the switches and returns leasetest.Config with them,
// the hosts wired to them, and short timeouts, for tests that run the
// server themselves (as a process, say).
func Peers(t testing.TB) (*Fabric, string) {
	t.Helper()
	f := &Fabric{SNMP: snmpsim.Start(t, snmpsim.Options{Recording: snmpsim.Arista})}
	var err error
	if f.Praha, err = sshemu.Start(sshemu.Config{Dialect: "cisco-ios", Hostname: "praha-sw1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Praha.Close)
	if f.Plzen, err = sshemu.Start(sshemu.Config{Dialect: "junos", Hostname: "plzen-sw1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Plzen.Close)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	lines := f.Praha.KnownHostsLine() + "\n" + f.Plzen.KnownHostsLine() + "\n"
	if err := os.WriteFile(kh, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := leasetest.Config + fmt.Sprintf(`
[switches.brno-sw1]
site = "brno"
driver = "snmp"
address = %q
community = %q
uplinks = ["Ethernet48"]
[switches.praha-sw1]
site = "praha"
driver = "ssh"
dialect = "cisco-ios"
address = %q
username = %q
password = %q
known_hosts = %q
uplinks = ["Gi1/0/48"]
[switches.plzen-sw1]
site = "plzen"
driver = "ssh"
dialect = "junos"
address = %q
username = %q
password = %q
known_hosts = %q
uplinks = ["ge-0/0/47"]
`, f.SNMP.Addr, f.SNMP.Community,
		f.Praha.Addr(), f.Praha.User(), f.Praha.Password(), kh,
		f.Plzen.Addr(), f.Plzen.User(), f.Plzen.Password(), kh)
	for _, r := range [][2]string{
		{"[hosts.skirit82-1]\nsite = \"brno\"", "[hosts.skirit82-1]\nsite = \"brno\"\nswitch = \"brno-sw1\"\nports = [\"Ethernet3\", \"Ethernet4\"]"},
		{"[hosts.skurut9-1]\nsite = \"praha\"", "[hosts.skurut9-1]\nsite = \"praha\"\nswitch = \"praha-sw1\"\nport = \"Gi1/0/9\""},
		{"[hosts.konos23-1]\nsite = \"plzen\"", "[hosts.konos23-1]\nsite = \"plzen\"\nswitch = \"plzen-sw1\"\nport = \"ge-0/0/23\""},
		{`listen = "127.0.0.1:0"`, `listen = "127.0.0.1:0"` + "\nswitch_timeout = \"3s\""},
		{`commit_timeout = "5s"`, `commit_timeout = "8s"`},
	} {
		if !strings.Contains(cfg, r[0]) {
			t.Fatalf("audittest: the test configuration lost %q", r[0])
		}
		cfg = strings.Replace(cfg, r[0], r[1], 1)
	}
	return f, cfg
}

// Behind opens a driver of its own to a switch, the way an operator's tool
// would reach the device behind the lease server's back. It may change any
// VLAN.
func (f *Fabric) Behind(t testing.TB, sw string) switchdrv.Driver {
	t.Helper()
	d, err := switchdrv.Open(f.Srv.Cfg.Switches[sw], switchdrv.Options{Name: sw + "-behind"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() }) // the test is over
	return d
}

// Apply makes a change on a switch behind the server's back.
func (f *Fabric) Apply(t testing.TB, sw string, c switchdrv.Change) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Behind(t, sw).Apply(ctx, c); err != nil {
		t.Fatalf("change %s behind the server's back: %v", sw, err)
	}
}

// Carried reads, through a driver of its own, the ports of each switch that
// carry vid (tagged or untagged, sorted); switches without it are absent.
func (f *Fabric) Carried(t testing.TB, vid int) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, sw := range Switches {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, found, err := f.Behind(t, sw).VLAN(ctx, vid)
		cancel()
		if err != nil {
			t.Fatalf("read %s: %v", sw, err)
		}
		if found {
			ports := append(append([]string{}, v.Tagged...), v.Untagged...)
			slices.Sort(ports)
			out[sw] = ports
		}
	}
	return out
}
