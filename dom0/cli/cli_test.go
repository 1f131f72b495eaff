package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/dom0"
	"github.com/virtcloud/virtcloud/dom0/internal/nstest"
	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

// TestMain lets the test binary be vc-dom0 itself when it runs under a name
// such as vif-virtcloud: end-to-end tests exec it as libxl would.
func TestMain(m *testing.M) {
	if strings.HasPrefix(filepath.Base(os.Args[0]), "vif-") {
		os.Exit(Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// setup writes a config holding only [dom0] and returns it with a fresh
// namespace that has the trunk.
func setup(t *testing.T, mode, extra string) (string, *nstest.NS) {
	t.Helper()
	ns := nstest.New(t)
	ns.Veth(t, "trunk0", nstest.New(t), "sw0")
	dir := t.TempDir()
	conf := filepath.Join(dir, "virtcloud.toml")
	body := fmt.Sprintf("[dom0]\ntrunk = \"trunk0\"\nmode = %q\nstate_dir = %q\n%s", mode, filepath.Join(dir, "state"), extra)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf, ns
}

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"vc-dom0"}, args...), strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func TestHelpDocumentsEveryEntryPoint(t *testing.T) {
	r := runCLI(t, "", "--help")
	for _, want := range []string{"ensure", "attach", "detach", "release", "status", "gc", "xen-vif", "libvirt-hook", "--config", "VIRTCLOUD_CONFIG"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
	for cmd, want := range map[string]string{"attach": "--iface", "status": "--output", "xen-vif": "XENBUS_PATH", "libvirt-hook": MetadataNS} {
		if r := runCLI(t, "", cmd, "--help"); !strings.Contains(r.stdout, want) {
			t.Errorf("%s --help does not mention %s:\n%s", cmd, want, r.stdout)
		}
	}
}

func TestStatusWithOnlyDom0Table(t *testing.T) {
	conf, ns := setup(t, dom0.ModeClassic, "")
	state := filepath.Join(filepath.Dir(conf), "state")
	if err := hostjob.Write(state, hostjob.Job{Job: "12[3].srv", VLAN: 300}); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", "--config", conf, "--netns", ns.Path(), "status")
	if r.code != 0 || !strings.Contains(r.stdout, "300") || !strings.Contains(r.stdout, "12[3].srv") {
		t.Fatalf("status: %+v", r)
	}
	r = runCLI(t, "", "--config", conf, "--netns", ns.Path(), "status", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"vlan": 300`) {
		t.Fatalf("status -o json: %+v", r)
	}
	if r := runCLI(t, "", "--config", conf, "--netns", ns.Path(), "status", "-o", "yaml"); r.code != 2 {
		t.Fatalf("status -o yaml: %+v", r)
	}
}

func TestBadInput(t *testing.T) {
	conf, ns := setup(t, dom0.ModeClassic, "")
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[dom0]\ntrunk = \"trunk0\"\nmod = \"classic\"\n"), 0o600)
	for name, tc := range map[string]struct {
		args []string
		code int
		want string
	}{
		"unknown key":     {[]string{"--config", bad, "status"}, 1, bad + ":3: dom0.mod: unknown key"},
		"no config":       {[]string{"--config", "/nonexistent.toml", "status"}, 1, "read config"},
		"VLAN 1":          {[]string{"--config", conf, "--netns", ns.Path(), "attach", "--vlan", "1", "--iface", "vif1.0"}, 1, "VLAN 1 is out of range"},
		"missing iface":   {[]string{"--config", conf, "attach", "--vlan", "100"}, 2, "iface"},
		"no such guest":   {[]string{"--config", conf, "--netns", ns.Path(), "detach", "--iface", "vif9.0"}, 0, ""},
		"xen outside xen": {[]string{"--config", conf, "--netns", ns.Path(), "xen-vif", "online"}, 2, "XENBUS_PATH is not set"},
		"hook no args":    {[]string{"--config", conf, "--netns", ns.Path(), "libvirt-hook"}, 2, "OBJECT OPERATION"},
		"gc no server":    {[]string{"--config", conf, "--netns", ns.Path(), "gc"}, 1, "server is not set"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d with %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

func TestGCRefusesWithoutLeaseServer(t *testing.T) {
	// A port nothing listens on: the connection is refused at once.
	conf, ns := setup(t, dom0.ModeClassic, "server = \"http://127.0.0.1:9\"\ntoken = \"secret-secret-secret\"\nhost = \"node1\"\n")
	state := filepath.Join(filepath.Dir(conf), "state")
	if err := hostjob.Write(state, hostjob.Job{Job: "42", VLAN: 300}); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", "--config", conf, "--netns", ns.Path(), "gc")
	if r.code != 1 || !strings.Contains(r.stderr, "unreachable, nothing removed") {
		t.Fatalf("gc: %+v", r)
	}
	if jobs, _ := hostjob.ReadAll(state); len(jobs) != 1 {
		t.Fatal("gc removed a job file although the lease server was down")
	}
}

func TestPlacements(t *testing.T) {
	leases := []client.Lease{
		{Job: "1", VLAN: 100, State: api.StateActive, Hosts: []string{"Node1.example.org", "node2"}},
		{Job: "2", VLAN: 200, State: api.StateReleased, Hosts: []string{"node1"}},
		{Job: "3", VLAN: 300, State: api.StateHeld, Hosts: []string{"node2"}},
		{Job: "4", VLAN: 400, State: api.StateCommitting, Hosts: []string{"node1"}},
		{Job: "5", VLAN: 500, State: api.StateFailed, Hosts: []string{"node1"}},
	}
	got := Placements(leases, "node1.example.org")
	if fmt.Sprint(got) != "[{1 100} {4 400}]" {
		t.Fatalf("placements = %v", got)
	}
}

func TestDomainPorts(t *testing.T) {
	ns := nstest.New(t)
	for _, tc := range []struct {
		mode, file, want string
	}{
		{dom0.ModeClassic, "domain-classic.xml", "vc-node-1 [{100 vnet0}]"},
		{dom0.ModeVLANAware, "domain-vlan-aware.xml", "vc-node-2 [{100 vnet0}]"},
		{dom0.ModeVLANAware, "domain-classic.xml", "vc-node-1 []"},
	} {
		h, err := dom0.New(&config.Dom0{Trunk: "trunk0", Mode: tc.mode, StateDir: t.TempDir(), BridgePattern: "br{vid}", VLANPattern: "{trunk}.{vid}", Bridge: "vcbr0"},
			dom0.Options{Handle: ns.Handle, NetNS: ns.NS})
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		name, ports, err := DomainPorts(f, h, "vcbr0")
		f.Close()
		if err != nil || fmt.Sprint(name, " ", ports) != tc.want {
			t.Errorf("%s %s: %s %v %v, want %s", tc.mode, tc.file, name, ports, err, tc.want)
		}
	}
	h, _ := dom0.New(&config.Dom0{Trunk: "trunk0", Mode: dom0.ModeVLANAware, StateDir: t.TempDir(), BridgePattern: "br{vid}", VLANPattern: "{trunk}.{vid}", Bridge: "vcbr0"},
		dom0.Options{Handle: ns.Handle, NetNS: ns.NS})
	noMeta := `<domain><name>x</name><devices><interface type='bridge'><source bridge='vcbr0'/></interface></devices></domain>`
	if _, _, err := DomainPorts(strings.NewReader(noMeta), h, "vcbr0"); err == nil || !strings.Contains(err.Error(), "metadata names no VLAN") {
		t.Fatalf("no metadata: %v", err)
	}
	if _, _, err := DomainPorts(strings.NewReader("<domain"), h, "vcbr0"); err == nil || !strings.Contains(err.Error(), "domain XML") {
		t.Fatalf("broken XML: %v", err)
	}
}
