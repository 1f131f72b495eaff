package ssh

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

// portNames returns n port names of a dialect, as its emulator names them.
func portNames(dialect string, n int) []string {
	var ps []string
	for i := 1; i <= n; i++ {
		switch dialect {
		case "cisco-ios":
			ps = append(ps, "Gi1/0/"+strconv.Itoa(i))
		case "cisco-nxos":
			ps = append(ps, "Eth1/"+strconv.Itoa(i))
		case "brocade-fastiron":
			ps = append(ps, "1/1/"+strconv.Itoa(i))
		case "sonic":
			ps = append(ps, "Ethernet"+strconv.Itoa(4*(i-1)))
		case "dell-os10":
			ps = append(ps, "ethernet1/1/"+strconv.Itoa(i))
		case "dell-os9":
			ps = append(ps, "Te0/"+strconv.Itoa(i))
		case "mellanox-onyx":
			ps = append(ps, "Eth1/"+strconv.Itoa(i))
		case "dell-powerconnect":
			ps = append(ps, "Gi1/0/"+strconv.Itoa(i))
		case "cumulus-nvue":
			ps = append(ps, "swp"+strconv.Itoa(i))
		case "comware":
			ps = append(ps, "GE1/0/"+strconv.Itoa(i))
		case "huawei-vrp":
			ps = append(ps, "GE0/0/"+strconv.Itoa(i))
		case "arista-eos":
			ps = append(ps, "Et"+strconv.Itoa(i))
		case "procurve":
			ps = append(ps, strconv.Itoa(i))
		case "junos":
			ps = append(ps, "ge-0/0/"+strconv.Itoa(i-1))
		case "linux-bridge":
			ps = append(ps, "swp"+strconv.Itoa(i))
		}
	}
	return ps
}

type rig struct {
	emu *sshemu.Emulator
	drv *Driver
	cfg *config.Switch
}

// newRig starts an emulator of the dialect and opens a driver on it with a
// known_hosts file holding the emulator's key.
func newRig(t testing.TB, dialect string, mod func(*sshemu.Config, *config.Switch)) *rig {
	t.Helper()
	ec := sshemu.Config{Dialect: dialect}
	cfg := &config.Switch{Driver: "ssh", VLANName: "vc-{vid}", Timeout: config.Duration{Duration: 10 * time.Second},
		Settings: &Config{Dialect: dialect, Username: "admin", Password: config.NewSecret("secret")}}
	if mod != nil {
		mod(&ec, cfg)
	}
	emu, err := sshemu.Start(ec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	cfg.Address = emu.Addr()
	if set := settings(cfg); set.KnownHosts == "" && !set.insecureIgnoreHostKey {
		set.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
		if err := emu.WriteKnownHosts(set.KnownHosts); err != nil {
			t.Fatal(err)
		}
	}
	d, err := New(cfg, switchdrv.Options{Name: "sw1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return &rig{emu: emu, drv: d.(*Driver), cfg: cfg}
}

// settings is a switch's ssh settings, for a test to change before New.
func settings(sw *config.Switch) *Config { return sw.Settings.(*Config) }

// changed is a copy of sw whose settings f changed; sw stays as it was.
func changed(sw *config.Switch, f func(*Config)) *config.Switch {
	c, s := *sw, *settings(sw)
	f(&s)
	c.Settings = &s
	return &c
}

// readCommands lists every command of a dialect's reads.
func readCommands(d *Dialect) []string {
	var cs []string
	for _, r := range d.Reads {
		cs = append(cs, r.Commands...)
	}
	return cs
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// emuVLAN returns the emulator's view of one VLAN.
func emuVLAN(r *rig, vid int) (switchdrv.VLAN, bool) {
	for _, v := range r.emu.VLANs() {
		if v.ID == vid {
			return v, true
		}
	}
	return switchdrv.VLAN{}, false
}

func fmtVLAN(v switchdrv.VLAN) string {
	return fmt.Sprintf("%d %q tagged=%v untagged=%v", v.ID, v.Name, v.Tagged, v.Untagged)
}
