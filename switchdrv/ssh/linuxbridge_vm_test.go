//go:build vmtest

// The linux-bridge dialect against a real kernel bridge: built with -tags
// vmtest and run inside a VM with Debian's stock kernel by
// scripts/phases/45-vm-linuxbridge.sh, which sets VIRTCLOUD_VM=1. The
// emulator's shell runs the driver's command lines for real, with /bin/sh
// inside a network namespace holding a vlan_filtering bridge and veth ports.
package ssh

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// kernelVLANs reads `bridge -j vlan show` in the namespace: port -> VIDs
// (VLAN 1, every port's default, left out).
func kernelVLANs(t *testing.T, ns string) map[string][]int {
	t.Helper()
	var ports []struct {
		IfName string `json:"ifname"`
		VLANs  []struct {
			VLAN    int `json:"vlan"`
			VLANEnd int `json:"vlanEnd"`
		} `json:"vlans"`
	}
	out := sh(t, "ip", "netns", "exec", ns, "bridge", "-j", "vlan", "show")
	if err := json.Unmarshal([]byte(out), &ports); err != nil {
		t.Fatalf("bridge -j vlan show: %v: %s", err, out)
	}
	m := map[string][]int{}
	for _, p := range ports {
		for _, v := range p.VLANs {
			for id := v.VLAN; id <= max(v.VLAN, v.VLANEnd); id++ {
				if id != 1 {
					m[p.IfName] = append(m[p.IfName], id)
				}
			}
		}
	}
	return m
}

func wantKernel(t *testing.T, ns string, want map[string][]int) {
	t.Helper()
	got := kernelVLANs(t, ns)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("kernel bridge has %v, want %v", got, want)
	}
}

func TestLinuxBridgeInVM(t *testing.T) {
	if os.Getenv("VIRTCLOUD_VM") != "1" {
		t.Fatal("this test changes the kernel's bridges: it runs only inside the VM, where scripts/phases/45-vm-linuxbridge.sh sets VIRTCLOUD_VM=1")
	}
	ns := fmt.Sprintf("vcsw%d", os.Getpid())
	sh(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	in := func(args ...string) { sh(t, append([]string{"ip", "netns", "exec", ns}, args...)...) }
	in("ip", "link", "add", "br0", "type", "bridge", "vlan_filtering", "1")
	ports := []string{"swp1", "swp2", "swp3", "swp4"}
	for i, p := range ports {
		in("ip", "link", "add", p, "type", "veth", "peer", "name", fmt.Sprintf("host%d", i+1))
		in("ip", "link", "set", p, "master", "br0")
		in("ip", "link", "set", p, "up")
	}
	in("ip", "link", "set", "br0", "up")

	emu, err := sshemu.Start(sshemu.Config{Dialect: "linux-bridge", Ports: ports,
		Exec: []string{"ip", "netns", "exec", ns, "/bin/sh", "-c"}})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	kh := t.TempDir() + "/known_hosts"
	if err := emu.WriteKnownHosts(kh); err != nil {
		t.Fatal(err)
	}
	d, err := New(&config.Switch{Driver: "ssh", Address: emu.Addr(), Timeout: config.Duration{Duration: 30 * time.Second},
		Settings: &Config{Dialect: "linux-bridge", Username: emu.User(), Password: config.NewSecret(emu.Password()), KnownHosts: kh}},
		switchdrv.Options{Name: "vmsw"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := ctxT(t)
	apply := func(c switchdrv.Change) {
		t.Helper()
		if err := d.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	apply(switchdrv.Change{VLAN: 100, Add: ports[:3]})
	apply(switchdrv.Change{VLAN: 200, Add: ports[1:2]})
	apply(switchdrv.Change{VLAN: 100, Add: ports[:3]}) // idempotent
	wantKernel(t, ns, map[string][]int{"swp1": {100}, "swp2": {100, 200}, "swp3": {100}})
	v, found, err := d.VLAN(ctx, 100)
	if err != nil || !found || !slices.Equal(v.Tagged, ports[:3]) {
		t.Fatalf("driver reads VLAN 100 as %+v found=%v err=%v", v, found, err)
	}

	// A port the kernel does not have: the real error is caught.
	err = d.Apply(ctx, switchdrv.Change{VLAN: 300, Add: []string{"swp9"}})
	if e := wantKind(t, err, switchdrv.Rejected); e.Port != "swp9" {
		t.Fatalf("error does not name swp9: %v", err)
	}
	// The emulator prints what iproute2 prints; check it against the real one.
	if !strings.Contains(err.Error(), `Cannot find bridge device "swp9"`) {
		t.Fatalf("iproute2's message is not in the error: %v", err)
	}
	t.Logf("refused as expected: %v", err)

	apply(switchdrv.Change{VLAN: 100, Remove: ports[1:2]})
	wantKernel(t, ns, map[string][]int{"swp1": {100}, "swp2": {200}, "swp3": {100}})
	apply(switchdrv.Change{VLAN: 100, Remove: ports[:1], Delete: true})
	wantKernel(t, ns, map[string][]int{"swp2": {200}})
	apply(switchdrv.Change{VLAN: 200, Remove: ports, Delete: true})
	wantKernel(t, ns, map[string][]int{})
	if n := emu.Sessions(); n > 2 {
		t.Fatalf("%d SSH sessions, want at most 2 (one, and one after the refused change)", n)
	}
}
