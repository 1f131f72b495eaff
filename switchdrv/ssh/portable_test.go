package ssh

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

// longForms are, per dialect, port names written the ways administrators
// copy them (full type, abbreviations, other case, unit suffix), with the
// name the driver reports for each.
var longForms = map[string][][2]string{
	"cisco-ios":         {{"GigabitEthernet1/0/1", "Gi1/0/1"}, {"gigabitethernet1/0/2", "Gi1/0/2"}, {"Gig1/0/3", "Gi1/0/3"}, {"gi1/0/4", "Gi1/0/4"}, {"GigabitEthernet 1/0/5", "Gi1/0/5"}},
	"arista-eos":        {{"Ethernet1", "Et1"}, {"ethernet2", "Et2"}, {"Eth3", "Et3"}, {"et4", "Et4"}},
	"brocade-fastiron":  {{"1/1/1", "1/1/1"}, {"ethernet 1/1/2", "1/1/2"}, {"ethe1/1/3", "1/1/3"}, {"e 1/1/4", "1/1/4"}, {"Ethernet1/1/5", "1/1/5"}},
	"sonic":             {{"Ethernet0", "Ethernet0"}, {"Ethernet4", "Ethernet4"}},
	"dell-os10":         {{"ethernet1/1/1", "ethernet1/1/1"}, {"Ethernet 1/1/2", "ethernet1/1/2"}, {"eth1/1/3", "ethernet1/1/3"}, {"e1/1/4", "ethernet1/1/4"}},
	"dell-os9":          {{"TenGigabitEthernet 0/1", "Te0/1"}, {"tengigabitethernet0/2", "Te0/2"}, {"te 0/3", "Te0/3"}, {"Te0/4", "Te0/4"}},
	"mellanox-onyx":     {{"ethernet 1/1", "Eth1/1"}, {"Eth1/2", "Eth1/2"}, {"1/3", "Eth1/3"}, {"eth1/4", "Eth1/4"}},
	"dell-powerconnect": {{"GigabitEthernet1/0/1", "Gi1/0/1"}, {"gigabitethernet 1/0/2", "Gi1/0/2"}, {"gi1/0/3", "Gi1/0/3"}, {"Gi1/0/4", "Gi1/0/4"}},
	"cumulus-nvue":      {{"swp1", "swp1"}, {"swp2", "swp2"}},
	"comware":           {{"GigabitEthernet1/0/1", "GE1/0/1"}, {"ge1/0/2", "GE1/0/2"}, {"gigabit1/0/3", "GE1/0/3"}, {"GigabitEthernet 1/0/4", "GE1/0/4"}},
	"huawei-vrp":        {{"GigabitEthernet0/0/1", "GE0/0/1"}, {"GE0/0/2", "GE0/0/2"}, {"gi0/0/3", "GE0/0/3"}, {"gigabitethernet 0/0/4", "GE0/0/4"}},
	"cisco-nxos":        {{"Ethernet1/1", "Eth1/1"}, {"ethernet1/2", "Eth1/2"}, {"e1/3", "Eth1/3"}, {"Eth1/4", "Eth1/4"}, {"Ethernet 1/5", "Eth1/5"}},
	"procurve":          {{"1", "1"}, {"ethernet 2", "2"}, {"ethernet3", "3"}},
	"junos":             {{"ge-0/0/0.0", "ge-0/0/0"}, {"GE-0/0/1", "ge-0/0/1"}, {"ge-0/0/2", "ge-0/0/2"}},
	"linux-bridge":      {{"swp1", "swp1"}, {"swp2", "swp2"}},
}

// TestLongPortNames: every form a dialect's CLI accepts is one port, in
// what is sent and in what is read back.
func TestLongPortNames(t *testing.T) {
	for _, dl := range Dialects() {
		t.Run(dl, func(t *testing.T) {
			forms := longForms[dl]
			if len(forms) == 0 {
				t.Fatalf("no long port name forms listed for %s", dl)
			}
			r := newRig(t, dl, nil)
			ctx := ctxT(t)
			var written, want []string
			for _, f := range forms {
				written, want = append(written, f[0]), append(want, f[1])
				got, err := r.drv.dialect.Canonical(f[0])
				if err != nil || got != f[1] {
					t.Fatalf("Canonical(%q) = %q, %v; want %q", f[0], got, err, f[1])
				}
			}
			if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: written}); err != nil {
				t.Fatal(err)
			}
			if v, _ := emuVLAN(r, 100); !slices.Equal(v.Tagged, sortPorts(want)) {
				t.Fatalf("device carries %s, want tagged %v", fmtVLAN(v), want)
			}
			v, _, err := r.drv.VLAN(ctx, 100)
			if err != nil || !slices.Equal(v.Tagged, sortPorts(want)) {
				t.Fatalf("driver reads %s (%v), want tagged %v", fmtVLAN(v), err, want)
			}
			r.emu.ResetCommands()
			if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: want}); err != nil {
				t.Fatal(err)
			}
			if cc := configCommands(r); len(cc) != 0 {
				t.Fatalf("the same ports in their short form sent %q", cc)
			}
			if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Remove: written, Delete: true}); err != nil {
				t.Fatal(err)
			}
			if v, ok := emuVLAN(r, 100); ok {
				t.Fatalf("VLAN left after delete: %s", fmtVLAN(v))
			}
		})
	}
}

func TestBadPortNamesAreRefusedNamingTheForms(t *testing.T) {
	for dl, bad := range map[string]string{"cisco-ios": "Gx1/0/1", "junos": "ge-0/0", "arista-eos": "Ethernet", "procurve": "port7x"} {
		r := newRig(t, dl, nil)
		before := r.emu.Sessions()
		err := r.drv.Apply(ctxT(t), switchdrv.Change{VLAN: 100, Add: []string{bad}})
		e := wantKind(t, err, switchdrv.Rejected)
		if e.Port != bad || !strings.Contains(err.Error(), "it takes") || r.emu.Sessions() != before {
			t.Fatalf("%s: %v (port %q, sessions %d)", dl, err, e.Port, r.emu.Sessions())
		}
	}
	// Ambiguous abbreviations are refused, as IOS does.
	if _, err := dialects["cisco-ios"].Canonical("F0/1"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("F0/1: %v", err)
	}
}

// TestConfigKeepsTheDialectsForm: the configuration understands every form
// and keeps the driver's, so plans and audits compare the device's names.
func TestConfigKeepsTheDialectsForm(t *testing.T) {
	base := `
[server]
listen = "127.0.0.1:7480"
[sites.a]
vlans = ["100-199"]
[switches.sw1]
site = "a"
driver = "ssh"
dialect = "cisco-ios"
address = "192.0.2.1"
username = "u"
password = "p"
known_hosts = "/dev/null"
uplinks = ["GigabitEthernet1/0/48"]
[hosts.h1]
site = "a"
switch = "sw1"
`
	cfg, err := config.Parse("t.toml", []byte(base+`ports = ["gigabitethernet1/0/9", "Gi1/0/10"]`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Hosts["h1"].Ports; !slices.Equal(got, []string{"Gi1/0/9", "Gi1/0/10"}) {
		t.Fatalf("host ports %v", got)
	}
	if got := cfg.Switches["sw1"].Uplinks; !slices.Equal(got, []string{"Gi1/0/48"}) {
		t.Fatalf("uplinks %v", got)
	}
	// check-config says which form it understood, where.
	want := []string{
		`t.toml:14: switches.sw1.uplinks: "GigabitEthernet1/0/48" understood as Gi1/0/48`,
		`t.toml:18: hosts.h1.ports: "gigabitethernet1/0/9" understood as Gi1/0/9`,
	}
	if got := cfg.Understood(); !slices.Equal(got, want) {
		t.Fatalf("understood:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	_, err = config.Parse("t.toml", []byte(base+`ports = ["Gx1/0/9"]`+"\n"))
	if err == nil || !strings.Contains(err.Error(), "hosts.h1.ports") || !strings.Contains(err.Error(), "GigabitEthernetN or GiN") {
		t.Fatalf("bad port: %v", err)
	}
}

// TestIOSWithoutRichCommandsOrRange: a device that answers neither `show
// interfaces status`/`trunk` nor `interface range` is read from its running
// configuration and VLAN table and changed one interface at a time, all in
// one session.
func TestIOSWithoutRichCommandsOrRange(t *testing.T) {
	r := newRig(t, "cisco-ios", func(ec *sshemu.Config, _ *config.Switch) {
		ec.Refuse = []string{"show interfaces status", "show interfaces trunk", "interface range"}
	})
	ctx := ctxT(t)
	ps := portNames("cisco-ios", 8)
	r.emu.AddVLAN(50, "other", ps[0])
	if err := r.emu.SetPortMode(ps[7], "access"); err != nil {
		t.Fatal(err)
	}
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps[:6]}); err != nil {
		t.Fatal(err)
	}
	if v, _ := emuVLAN(r, 100); !slices.Equal(v.Tagged, ps[:6]) || v.Name != "vc-100" {
		t.Fatalf("device: %s", fmtVLAN(v))
	}
	v, _, err := r.drv.VLAN(ctx, 50)
	if err != nil || !slices.Equal(v.Tagged, ps[:1]) || v.Name != "other" {
		t.Fatalf("driver reads %s, %v", fmtVLAN(v), err)
	}
	// The access port is refused by name, not guessed at.
	err = r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps[7:8]})
	if e := wantKind(t, err, switchdrv.Rejected); e.Port != ps[7] || !strings.Contains(err.Error(), "access mode") {
		t.Fatalf("access port: %v", err)
	}
	// The driver now knows this device: no more refused commands.
	r.emu.ResetCommands()
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Remove: ps[1:3]}); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.emu.Commands() {
		if strings.HasPrefix(c, "interface range") || strings.HasPrefix(c, "show interfaces") {
			t.Fatalf("sent %q again to a device that refused it", c)
		}
	}
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Remove: ps, Delete: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok := emuVLAN(r, 100); ok {
		t.Fatal("VLAN 100 left")
	}
	if n := r.emu.Sessions(); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
}

// TestNoPromptAfterGlobalCommand: a device that prints no prompt after a
// global command typed in a sub-mode is never given one by the dialect.
func TestNoPromptAfterGlobalCommand(t *testing.T) {
	r := newRig(t, "cisco-ios", func(ec *sshemu.Config, cfg *config.Switch) {
		ec.NoPromptAfterGlobal = true
		settings(cfg).CommandTimeout = config.Duration{Duration: 300 * time.Millisecond}
	})
	ctx := ctxT(t)
	ps := portNames("cisco-ios", 4)
	for _, c := range []switchdrv.Change{{VLAN: 100, Add: ps}, {VLAN: 100, Remove: ps[:2]}, {VLAN: 100, Remove: ps, Delete: true}} {
		if err := r.drv.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.emu.Sessions(); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
	// Typed by hand, such a command leaves the session without a prompt:
	// the error names the command and what the device last printed.
	s, err := dial(ctx, r.cfg, settings(r.cfg), r.drv.dialect, r.drv.wait)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	_, err = s.run(ctx, []string{"configure terminal", "interface Gi1/0/1", "vlan 5"})
	var np *noPrompt
	if !errors.As(err, &np) || np.cmd != "vlan 5" || !strings.Contains(err.Error(), "within 300ms") || !s.broken {
		t.Fatalf("error %v (broken %v)", err, s.broken)
	}
}

// TestMissingPromptDropsTheSession: a command whose prompt does not come
// fails within its deadline with the switch, the command and the last
// output; the session is dropped, the operation tried once more on a new
// one, and the next operation works.
func TestMissingPromptDropsTheSession(t *testing.T) {
	r := newRig(t, "cisco-ios", func(_ *sshemu.Config, cfg *config.Switch) {
		settings(cfg).CommandTimeout = config.Duration{Duration: 300 * time.Millisecond}
	})
	ctx := ctxT(t)
	if _, err := r.drv.VLANs(ctx); err != nil {
		t.Fatal(err)
	}
	// The first state command hangs, and on the new session (two paging
	// commands, then the read) again.
	r.emu.Hang(1)
	r.emu.Hang(3 + 2 + 1)
	_, err := r.drv.VLANs(ctx)
	e := wantKind(t, err, switchdrv.TimedOut)
	for _, want := range []string{"switch sw1", `command "show interfaces status"`, "no prompt within 300ms", "last output"} {
		if !strings.Contains(e.Error(), want) {
			t.Fatalf("error %q does not say %q", e, want)
		}
	}
	if n := r.emu.Sessions(); n != 2 {
		t.Fatalf("%d sessions, want 2 (dropped and reopened once)", n)
	}
	// One hang only: the change is made on the second session.
	r.emu.Hang(3 + 1)
	ps := portNames("cisco-ios", 2)
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps}); err != nil {
		t.Fatal(err)
	}
	if v, _ := emuVLAN(r, 100); !slices.Equal(v.Tagged, ps) {
		t.Fatalf("device: %s", fmtVLAN(v))
	}
	if n := r.emu.Sessions(); n != 4 {
		t.Fatalf("%d sessions, want 4", n)
	}
}

// TestDeviceMessagesAreNoPrompts: lines devices print in answers must not
// pass for a prompt of any dialect, or a typed-ahead batch would be cut at
// them (FastIron's "Invalid input -> word" once passed for an exec prompt).
func TestDeviceMessagesAreNoPrompts(t *testing.T) {
	lines := []string{
		"Invalid input -> configure",
		"Type ? for a list",
		"Error - invalid ethernet port 1/1/9",
		"Added tagged port(s) ethe 1/1/1 ethe 1/1/2 to port-vlan 300.",
		"% Invalid input detected at '^' marker.",
		"% Unrecognized command \"vlan\".",
		"Error: Wrong parameter found at '^' position.",
		"Usage: config vlan member add [OPTIONS] <vid> port",
		"Enter configuration commands, one per line.  End with CNTL/Z.",
	}
	for _, dl := range Dialects() {
		for _, l := range lines {
			if loc := dialects[dl].prompts.find(l); loc != nil {
				t.Errorf("%s: %q passes for a prompt (%q)", dl, l, l[loc[0]:loc[1]])
			}
		}
	}
}
