//go:build vmtest

// Entry points end to end on a kernel with 802.1Q and VLAN filtering (run in
// the VM by scripts/phases/40-vm-dom0.sh).
package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/dom0"
	"github.com/virtcloud/virtcloud/dom0/internal/nstest"
)

// fakeXen puts xenstore-read and xenstore-write on a PATH; they keep keys as
// files in a directory and the test reads them back.
type fakeXen struct{ bin, store string }

func newFakeXen(t *testing.T) *fakeXen {
	x := &fakeXen{bin: t.TempDir(), store: t.TempDir()}
	scripts := map[string]string{
		"xenstore-read": `#!/bin/sh
f="` + x.store + `/$(echo "$1" | tr / _)"
[ -f "$f" ] || { echo "couldn't read path $1" >&2; exit 1; }
cat "$f"; echo
`,
		"xenstore-write": `#!/bin/sh
while [ $# -ge 2 ]; do printf %s "$2" > "` + x.store + `/$(echo "$1" | tr / _)"; shift 2; done
`,
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(x.bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

func (x *fakeXen) set(key, val string) {
	os.WriteFile(filepath.Join(x.store, strings.ReplaceAll(key, "/", "_")), []byte(val), 0o644)
}

func (x *fakeXen) get(key string) string {
	b, _ := os.ReadFile(filepath.Join(x.store, strings.ReplaceAll(key, "/", "_")))
	return string(b)
}

// script runs this test binary as /etc/xen/scripts/vif-virtcloud with the
// environment libxl gives hotplug scripts (plus where to find the config and
// the test's namespace, which a real host does not need).
func (x *fakeXen) script(t *testing.T, conf string, ns *nstest.NS, action string, env ...string) (int, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "vif-virtcloud")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, action)
	cmd.Env = append([]string{
		"PATH=" + x.bin + ":/usr/sbin:/usr/bin:/sbin:/bin",
		"script=/etc/xen/scripts/vif-virtcloud",
		"XENBUS_TYPE=vif",
		"XENBUS_BASE_PATH=backend",
		"netdev=",
		"VIRTCLOUD_CONFIG=" + conf,
		"VIRTCLOUD_NETNS=" + ns.Path(),
	}, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

func bridgeOf(t *testing.T, ns *nstest.NS, iface string) string {
	t.Helper()
	m := ns.Link(t, iface).Attrs().MasterIndex
	if m == 0 {
		return ""
	}
	l, err := ns.Handle.LinkByIndex(m)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().Name
}

func portVLANs(t *testing.T, ns *nstest.NS, port string) string {
	return strings.Join(ns.PortVLANs(t, port), ",")
}

func TestXenVifScript(t *testing.T) {
	for _, mode := range []string{dom0.ModeClassic, dom0.ModeVLANAware} {
		t.Run(mode, func(t *testing.T) {
			conf, ns := setup(t, mode, "")
			x := newFakeXen(t)
			guest := nstest.New(t)
			ns.Veth(t, "vif3.0", guest, "eth0")
			ns.Veth(t, "vif3.0-emu", guest, "eth1")
			x.set("backend/vif/3/0/bridge", "br100")
			vif := []string{"XENBUS_PATH=backend/vif/3/0", "vif=vif3.0", "type_if=vif"}

			if code, out := x.script(t, conf, ns, "online", vif...); code != 0 {
				t.Fatalf("online: exit %d: %s", code, out)
			}
			if got := x.get("backend/vif/3/0/hotplug-status"); got != "connected" {
				t.Fatalf("hotplug-status %q, want connected", got)
			}
			want := map[string]string{dom0.ModeClassic: "br100", dom0.ModeVLANAware: "vcbr0"}[mode]
			if got := bridgeOf(t, ns, "vif3.0"); got != want {
				t.Fatalf("vif3.0 in %q, want %q", got, want)
			}
			if mode == dom0.ModeVLANAware {
				if got := portVLANs(t, ns, "vif3.0"); got != "100PU" {
					t.Fatalf("vif3.0 VLANs %s, want 100PU", got)
				}
			}
			// The emulated NIC of an HVM guest: add/remove with type_if=tap.
			x.set("backend/vif/3/0/hotplug-status", "")
			tap := []string{"XENBUS_PATH=backend/vif/3/0", "vif=vif3.0-emu", "type_if=tap", "INTERFACE=vif3.0-emu"}
			if code, out := x.script(t, conf, ns, "add", tap...); code != 0 || bridgeOf(t, ns, "vif3.0-emu") != want {
				t.Fatalf("add tap: exit %d: %s", code, out)
			}
			if x.get("backend/vif/3/0/hotplug-status") != "" {
				t.Fatal("a tap add wrote hotplug-status (libxl does not wait for it)")
			}
			for _, step := range []struct {
				action string
				env    []string
			}{{"remove", tap}, {"offline", vif}, {"offline", vif}} {
				if code, out := x.script(t, conf, ns, step.action, step.env...); code != 0 {
					t.Fatalf("%s: exit %d: %s", step.action, code, out)
				}
			}
			if bridgeOf(t, ns, "vif3.0") != "" || ns.Has(t, "br100") || ns.Has(t, "trunk0.100") {
				t.Fatal("left over after offline")
			}
			if mode == dom0.ModeVLANAware && portVLANs(t, ns, "trunk0") != "" {
				t.Fatal("VLAN 100 left on the trunk after offline")
			}

			// A bridge that is not a VirtCloud VLAN: reported through xenstore.
			x.set("backend/vif/4/0/bridge", "xenbr0")
			code, out := x.script(t, conf, ns, "online", "XENBUS_PATH=backend/vif/4/0", "vif=vif3.0", "type_if=vif")
			if code != 1 || x.get("backend/vif/4/0/hotplug-status") != "error" ||
				!strings.Contains(x.get("backend/vif/4/0/hotplug-error"), `"xenbr0" does not follow the pattern`) {
				t.Fatalf("exit %d, status %q, error %q: %s", code, x.get("backend/vif/4/0/hotplug-status"), x.get("backend/vif/4/0/hotplug-error"), out)
			}
			if bridgeOf(t, ns, "vif3.0") != "" {
				t.Fatal("a failed online attached the vif")
			}
		})
	}
}

func TestLibvirtHook(t *testing.T) {
	for _, tc := range []struct{ mode, file, bridge string }{
		{dom0.ModeClassic, "domain-classic.xml", "br100"},
		{dom0.ModeVLANAware, "domain-vlan-aware.xml", "vcbr0"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			conf, ns := setup(t, tc.mode, "")
			xml, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			hook := func(op, sub string) {
				t.Helper()
				r := runCLI(t, string(xml), "--config", conf, "--netns", ns.Path(), "libvirt-hook", "vc-node", op, sub, "-")
				if r.code != 0 {
					t.Fatalf("hook %s: %+v", op, r)
				}
			}
			hook("prepare", "begin")
			br := ns.Link(t, tc.bridge)
			if tc.mode == dom0.ModeClassic && !ns.Has(t, "trunk0.100") {
				t.Fatal("prepare made no trunk0.100")
			}
			if tc.mode == dom0.ModeVLANAware && portVLANs(t, ns, "trunk0") != "100" {
				t.Fatalf("trunk VLANs %q after prepare, want 100", portVLANs(t, ns, "trunk0"))
			}
			// libvirt makes the tap and puts it in the bridge itself.
			ns.Veth(t, "vnet0", nstest.New(t), "eth0")
			if err := ns.Handle.LinkSetMaster(ns.Link(t, "vnet0"), br); err != nil {
				t.Fatal(err)
			}
			hook("start", "begin")
			hook("started", "begin")
			if tc.mode == dom0.ModeVLANAware {
				if got := portVLANs(t, ns, "vnet0"); got != "100PU" {
					t.Fatalf("vnet0 VLANs %q, want 100PU", got)
				}
			} else if ns.Link(t, "vnet0").Attrs().Group != dom0.GuestGroup {
				t.Fatal("vnet0 is not marked as a guest port")
			}
			// The domain stops: libvirt removes the tap, then says release.
			if err := ns.Handle.LinkDel(ns.Link(t, "vnet0")); err != nil {
				t.Fatal(err)
			}
			hook("stopped", "end")
			hook("release", "end")
			if tc.mode == dom0.ModeClassic && (ns.Has(t, "br100") || ns.Has(t, "trunk0.100")) {
				t.Fatal("VLAN 100 left over after release")
			}
			if tc.mode == dom0.ModeVLANAware && portVLANs(t, ns, "trunk0") != "" {
				t.Fatal("VLAN 100 left on the trunk after release")
			}
		})
	}
}
