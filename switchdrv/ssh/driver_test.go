package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

// configCommands returns the commands of the emulator's log that change
// something: everything but the dialect's state reads and paging setup.
func configCommands(r *rig) []string {
	var out []string
	for _, c := range r.emu.Commands() {
		if !slices.Contains(readCommands(r.drv.dialect), c) && !slices.Contains(r.drv.dialect.PagingOff, c) {
			out = append(out, c)
		}
	}
	return out
}

func wantKind(t *testing.T, err error, kind switchdrv.Kind) *switchdrv.Error {
	t.Helper()
	var e *switchdrv.Error
	if !errors.As(err, &e) || e.Kind != kind {
		t.Fatalf("error = %v, want kind %q", err, kind)
	}
	return e
}

func TestApplyAddRemoveDelete(t *testing.T) {
	for _, dl := range Dialects() {
		t.Run(dl, func(t *testing.T) {
			r := newRig(t, dl, nil)
			ctx := ctxT(t)
			ps := portNames(dl, 8)
			if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps[:6]}); err != nil {
				t.Fatal(err)
			}
			v, ok := emuVLAN(r, 100)
			if !ok || !slices.Equal(v.Tagged, ps[:6]) || len(v.Untagged) != 0 {
				t.Fatalf("device after add: %s", fmtVLAN(v))
			}
			if !slices.Contains([]string{"linux-bridge", "sonic", "cumulus-nvue"}, dl) && v.Name != "vc-100" { // SONiC names a VLAN Vlan<vid>; the others have no names
				t.Fatalf("device named the VLAN %q, want vc-100", v.Name)
			}
			got, found, err := r.drv.VLAN(ctx, 100)
			if err != nil || !found || !slices.Equal(got.Tagged, ps[:6]) {
				t.Fatalf("driver reads %s found=%v err=%v", fmtVLAN(got), found, err)
			}

			// The same change again sends nothing.
			r.emu.ResetCommands()
			if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps[:6]}); err != nil {
				t.Fatal(err)
			}
			if cc := configCommands(r); len(cc) != 0 {
				t.Fatalf("repeated add sent %q", cc)
			}

			// Remove two ports (one of them never tagged: nothing to do for it).
			if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Remove: []string{ps[1], ps[7]}}); err != nil {
				t.Fatal(err)
			}
			v, _ = emuVLAN(r, 100)
			if want := slices.Delete(slices.Clone(ps[:6]), 1, 2); !slices.Equal(v.Tagged, want) {
				t.Fatalf("after remove: %s, want tagged %v", fmtVLAN(v), want)
			}
			// Another VLAN on the same ports is left alone by what follows.
			if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 200, Add: ps[:2]}); err != nil {
				t.Fatal(err)
			}
			for range 2 { // deleting twice succeeds
				if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Remove: ps, Delete: true}); err != nil {
					t.Fatal(err)
				}
				if v, ok := emuVLAN(r, 100); ok {
					t.Fatalf("VLAN still there after delete: %s", fmtVLAN(v))
				}
				if _, found, err := r.drv.VLAN(ctx, 100); err != nil || found {
					t.Fatalf("driver still finds VLAN 100 (err %v)", err)
				}
			}
			if v, _ := emuVLAN(r, 200); !slices.Equal(v.Tagged, ps[:2]) {
				t.Fatalf("VLAN 200 changed: %s", fmtVLAN(v))
			}
			if n := r.emu.Sessions(); n != 1 {
				t.Fatalf("%d sessions, want 1", n)
			}
		})
	}
}

func TestDeviceErrorsAreFailures(t *testing.T) {
	for _, dl := range Dialects() {
		t.Run(dl, func(t *testing.T) {
			r := newRig(t, dl, nil)
			ctx := ctxT(t)
			ps := portNames(dl, 3)
			r.emu.FailPort(ps[2])
			before := r.emu.VLANs()
			err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps[2:3]})
			e := wantKind(t, err, switchdrv.Rejected)
			if e.Port != ps[2] || !strings.Contains(err.Error(), "command") {
				t.Fatalf("error %v does not name port %s and the command", err, ps[2])
			}
			if dl == "junos" { // nothing committed: the candidate was rolled back
				if after := r.emu.VLANs(); !slices.EqualFunc(before, after, func(a, b switchdrv.VLAN) bool { return fmtVLAN(a) == fmtVLAN(b) }) {
					t.Fatalf("junos committed a failed batch: %v", after)
				}
			}
			// The session is replaced and the next change works.
			if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps[:2]}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFailedCommandInBatch(t *testing.T) {
	for _, dl := range Dialects() {
		t.Run(dl, func(t *testing.T) {
			r := newRig(t, dl, nil)
			ctx := ctxT(t)
			if _, err := r.drv.VLANs(ctx); err != nil { // open the session
				t.Fatal(err)
			}
			// Fail the last command of the batch (commit for Junos, end
			// for IOS), or for a dialect without one the last change line.
			ps := portNames(dl, 2)
			d := r.drv.dialect
			n := len(d.Reads[0].Commands) + len(d.ConfigEnter) + 1 // the first change line
			r.emu.FailCommand(n, "")
			err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 300, Add: ps})
			if switchdrv.KindOf(err) != switchdrv.Rejected {
				t.Logf("commands %q\ntranscript:\n%s", r.emu.Commands(), r.emu.Transcript())
			}
			wantKind(t, err, switchdrv.Rejected)
			t.Log(err)
		})
	}
}

func TestJunosCommitErrorRollsBack(t *testing.T) {
	r := newRig(t, "junos", nil)
	ctx := ctxT(t)
	ps := portNames("junos", 2)
	if err := r.emu.AddVLAN(100, "lab", ps[1]); err != nil {
		t.Fatal(err)
	}
	// The VLAN exists under another name: the driver uses that name.
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps[:1]}); err != nil {
		t.Fatal(err)
	}
	v, _ := emuVLAN(r, 100)
	if v.Name != "lab" || !slices.Equal(v.Tagged, ps) {
		t.Fatalf("junos: %s", fmtVLAN(v))
	}
	// Deleting the VLAN while a port outside the change still refers to it
	// fails the commit check; the candidate is rolled back.
	err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Remove: ps[:1], Delete: true})
	wantKind(t, err, switchdrv.Rejected)
	if !strings.Contains(err.Error(), `"commit"`) {
		t.Fatalf("error does not name the commit: %v", err)
	}
	if v2, _ := emuVLAN(r, 100); fmtVLAN(v2) != fmtVLAN(v) {
		t.Fatalf("after a failed commit: %s, want %s", fmtVLAN(v2), fmtVLAN(v))
	}
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Remove: ps, Delete: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok := emuVLAN(r, 100); ok {
		t.Fatal("VLAN 100 still there")
	}
}

func TestWrongPortModeRefused(t *testing.T) {
	for _, dl := range []string{"cisco-ios", "arista-eos", "junos"} {
		t.Run(dl, func(t *testing.T) {
			r := newRig(t, dl, nil)
			ps := portNames(dl, 3)
			if err := r.emu.SetPortMode(ps[1], "access"); err != nil {
				t.Fatal(err)
			}
			err := r.drv.Apply(ctxT(t), switchdrv.Change{VLAN: 100, Add: ps})
			e := wantKind(t, err, switchdrv.Rejected)
			if e.Port != ps[1] || !strings.Contains(err.Error(), "access mode") {
				t.Fatalf("error %v does not name port %s and its mode", err, ps[1])
			}
			if m, _ := r.emu.PortMode(ps[1]); m != "access" {
				t.Fatalf("port mode changed to %s", m)
			}
			if cc := configCommands(r); len(cc) != 0 {
				t.Fatalf("sent %q after refusing", cc)
			}
			// A port the device does not have is refused the same way.
			err = r.drv.Apply(ctxT(t), switchdrv.Change{VLAN: 100, Add: []string{ps[0], "Gi9/9/9"}})
			if e := wantKind(t, err, switchdrv.Rejected); e.Port != "Gi9/9/9" {
				t.Fatalf("unknown port: %v", err)
			}
		})
	}
}

func TestInjectionRefused(t *testing.T) {
	for _, dl := range Dialects() {
		t.Run(dl, func(t *testing.T) {
			r := newRig(t, dl, nil)
			p := portNames(dl, 1)[0]
			bad := []switchdrv.Change{
				{VLAN: 100, Name: "vc-100\nreload", Add: []string{p}},
				{VLAN: 100, Name: "vc 100", Add: []string{p}},
				{VLAN: 100, Add: []string{p + "\nwrite erase"}},
				{VLAN: 100, Add: []string{p + " , Gi1/0/2"}},
				{VLAN: 100, Add: []string{"1 tagged 2"}},
				{VLAN: 100, Add: []string{"$(reboot)"}},
				{VLAN: 100, Add: []string{"swp1';reboot;'"}},
				{VLAN: 100, Add: []string{"-h"}},
				{VLAN: 100, Add: []string{p}, Remove: []string{p}},
				{VLAN: 100, Add: []string{p}, Delete: true},
				{VLAN: 1, Add: []string{p}},
				{VLAN: 4095, Add: []string{p}},
			}
			for _, c := range bad {
				err := r.drv.Apply(ctxT(t), c)
				wantKind(t, err, switchdrv.Rejected)
				if !strings.Contains(err.Error(), "not sent to the device") {
					t.Fatalf("%+v: %v", c, err)
				}
			}
			if n := r.emu.Sessions(); n != 0 {
				t.Fatalf("the driver connected %d times for refused changes", n)
			}
		})
	}
}

func TestUnmanagedVLANRefused(t *testing.T) {
	r := newRig(t, "cisco-ios", nil)
	d, err := New(r.cfg, switchdrv.Options{Name: "sw1", Managed: func(vid int) bool { return vid >= 100 && vid < 200 }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.Apply(ctxT(t), switchdrv.Change{VLAN: 250, Add: portNames("cisco-ios", 1)})
	if e := wantKind(t, err, switchdrv.Rejected); e.VLAN != 250 {
		t.Fatalf("error does not name the VLAN: %v", err)
	}
	if r.emu.Sessions() != 0 {
		t.Fatal("connected for an unmanaged VLAN")
	}
}

func TestAuthFailure(t *testing.T) {
	r := newRig(t, "procurve", nil)
	r.emu.RefuseAuth(true)
	_, err := r.drv.VLANs(ctxT(t))
	wantKind(t, err, switchdrv.CredentialsRefused)

	r2 := newRig(t, "cisco-ios", func(ec *sshemu.Config, c *config.Switch) {
		ec.EnablePassword = "right"
		settings(c).EnablePassword = config.NewSecret("wrong")
	})
	_, err = r2.drv.VLANs(ctxT(t))
	wantKind(t, err, switchdrv.CredentialsRefused)

	r3 := newRig(t, "cisco-ios", func(ec *sshemu.Config, c *config.Switch) {
		ec.EnablePassword, settings(c).EnablePassword = "right", config.NewSecret("right")
	})
	if err := r3.drv.Apply(ctxT(t), switchdrv.Change{VLAN: 100, Add: portNames("cisco-ios", 1)}); err != nil {
		t.Fatalf("with the enable password: %v", err)
	}
}

func TestKeyFileLogin(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := xssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, _ := xssh.NewPublicKey(pub)
	r := newRig(t, "junos", func(ec *sshemu.Config, c *config.Switch) {
		ec.AuthorizedKey = sshPub
		settings(c).Password, settings(c).KeyFile = config.Secret{}, keyFile
	})
	if err := r.drv.Apply(ctxT(t), switchdrv.Change{VLAN: 100, Add: portNames("junos", 1)}); err != nil {
		t.Fatal(err)
	}
}

func TestHostKeyChecked(t *testing.T) {
	r := newRig(t, "arista-eos", nil)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	otherKey, _ := xssh.NewPublicKey(other)
	line := knownhosts.Line([]string{knownhosts.Normalize(r.emu.Addr())}, otherKey)
	if err := os.WriteFile(settings(r.cfg).KnownHosts, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, _ := New(r.cfg, switchdrv.Options{Name: "sw1"})
	defer d.Close()
	_, err := d.VLANs(ctxT(t))
	wantKind(t, err, switchdrv.CredentialsRefused)
	if !strings.Contains(err.Error(), "host key mismatch") {
		t.Fatalf("message does not say what is wrong: %v", err)
	}

	if err := os.WriteFile(settings(r.cfg).KnownHosts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d2, _ := New(r.cfg, switchdrv.Options{Name: "sw1"})
	defer d2.Close()
	_, err = d2.VLANs(ctxT(t))
	wantKind(t, err, switchdrv.CredentialsRefused)
	if !strings.Contains(err.Error(), "is not in") {
		t.Fatalf("message does not say the host is unknown: %v", err)
	}

	if _, err := New(changed(r.cfg, func(c *Config) { c.KnownHosts = "" }), switchdrv.Options{Name: "sw1"}); err == nil {
		t.Fatal("a driver without known_hosts was opened")
	}
}

func TestDaemonDown(t *testing.T) {
	r := newRig(t, "cisco-ios", nil)
	ctx := ctxT(t)
	ps := portNames("cisco-ios", 2)
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps[:1]}); err != nil {
		t.Fatal(err)
	}
	r.emu.Stop()
	err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps})
	wantKind(t, err, switchdrv.NoAnswer)
	if err := r.emu.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps}); err != nil {
		t.Fatalf("after the daemon came back: %v", err)
	}
	if n := r.emu.Sessions(); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}
	// A restart between two changes closes the idle session: the next
	// change opens a new one without failing.
	r.emu.Stop()
	if err := r.emu.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 101, Add: ps}); err != nil {
		t.Fatalf("after a daemon restart: %v", err)
	}
}

func TestSaveFailureReported(t *testing.T) {
	r := newRig(t, "cisco-ios", func(_ *sshemu.Config, c *config.Switch) {
		settings(c).Save, settings(c).SaveDelay.Duration = true, time.Hour
	})
	if err := r.drv.Apply(ctxT(t), switchdrv.Change{VLAN: 100, Add: portNames("cisco-ios", 1)}); err != nil {
		t.Fatal(err)
	}
	r.emu.FailCommand(1, "%Error opening nvram:/startup-config (No space left on device)")
	err := r.drv.Save(ctxT(t))
	wantKind(t, err, switchdrv.Rejected)
	if !strings.Contains(err.Error(), "write memory") {
		t.Fatalf("error does not name the save command: %v", err)
	}
	r.emu.ClearFailures()
	if err := r.drv.Close(); err != nil { // the save is still pending and now works
		t.Fatal(err)
	}
}

func TestTimeout(t *testing.T) {
	r := newRig(t, "procurve", func(ec *sshemu.Config, c *config.Switch) {
		ec.Delay = 400 * time.Millisecond
		c.Timeout.Duration = 300 * time.Millisecond
	})
	_, err := r.drv.VLANs(context.Background())
	wantKind(t, err, switchdrv.TimedOut)
}

func TestSessionReused(t *testing.T) {
	for _, dl := range Dialects() {
		t.Run(dl, func(t *testing.T) {
			r := newRig(t, dl, nil)
			ps := portNames(dl, 16)
			var wg sync.WaitGroup
			errs := make(chan error, len(ps))
			for i, p := range ps {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- r.drv.Apply(ctxT(t), switchdrv.Change{VLAN: 100 + i%4, Add: []string{p}})
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := r.emu.Sessions(); n != 1 {
				t.Fatalf("%d sessions for 16 queued changes, want 1", n)
			}
			for i := range 4 {
				v, _ := emuVLAN(r, 100+i)
				if len(v.Tagged) != 4 {
					t.Fatalf("%s", fmtVLAN(v))
				}
			}
		})
	}
}

func TestSaveDebounced(t *testing.T) {
	for _, dl := range Dialects() {
		if len(dialects[dl].Save) == 0 {
			continue // Junos commits, a Linux bridge's persistence is the OS's
		}
		t.Run(dl, func(t *testing.T) {
			r := newRig(t, dl, func(_ *sshemu.Config, c *config.Switch) {
				settings(c).Save, settings(c).SaveDelay.Duration = true, time.Hour
			})
			save := dialects[dl].Save[0]
			for i, p := range portNames(dl, 3) {
				if err := r.drv.Apply(ctxT(t), switchdrv.Change{VLAN: 100 + i, Add: []string{p}}); err != nil {
					t.Fatal(err)
				}
			}
			count := func() int {
				n := 0
				for _, c := range r.emu.Commands() {
					if c == save {
						n++
					}
				}
				return n
			}
			if n := count(); n != 0 {
				t.Fatalf("saved %d times before the delay", n)
			}
			if err := r.drv.Close(); err != nil {
				t.Fatal(err)
			}
			if n := count(); n != 1 {
				t.Fatalf("saved %d times, want once", n)
			}
		})
	}
}

func TestPagerAnswered(t *testing.T) {
	for _, dl := range []string{"cisco-ios", "arista-eos", "procurve", "junos"} {
		t.Run(dl, func(t *testing.T) {
			r := newRig(t, dl, nil)
			p := portNames(dl, 1)
			for vid := 100; vid < 160; vid++ {
				r.emu.AddVLAN(vid, fmt.Sprintf("lab%d", vid), p...)
			}
			d := *r.drv.dialect
			d.PagingOff = nil // the device pages: the driver must answer its pager
			r.drv.dialect = &d
			vs, err := r.drv.VLANs(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != len(r.emu.VLANs()) {
				t.Fatalf("read %d VLANs through the pager, device has %d", len(vs), len(r.emu.VLANs()))
			}
		})
	}
}

func TestDriverReadsWhatDeviceHas(t *testing.T) {
	for _, dl := range Dialects() {
		t.Run(dl, func(t *testing.T) {
			r := newRig(t, dl, nil)
			ps := portNames(dl, 40)
			r.emu.AddVLAN(700, "seven", ps[3:37]...)
			r.emu.AddVLAN(701, "other", ps[0], ps[39])
			got, err := r.drv.VLANs(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			want := r.emu.VLANs()
			if dl == "linux-bridge" || dl == "cumulus-nvue" { // a Linux bridge has no VLAN names
				for i := range want {
					want[i].Name = ""
				}
			}
			if dl == "brocade-fastiron" || dl == "dell-os9" {
				// FastIron's configuration lists no member of DEFAULT-VLAN:
				// there the untagged ports are implied (the VLAN is never managed).
				want[0].Untagged = nil
			}
			var g, w []string
			for _, v := range got {
				g = append(g, fmtVLAN(v))
			}
			for _, v := range want {
				w = append(w, fmtVLAN(v))
			}
			if !slices.Equal(g, w) {
				t.Fatalf("driver reads\n%s\ndevice has\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	if !slices.Contains(switchdrv.Drivers(), "ssh") {
		t.Fatal("ssh driver not registered")
	}
	r := newRig(t, "procurve", nil)
	d, err := switchdrv.Open(r.cfg, switchdrv.Options{Name: "sw1"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.VLANs(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := New(changed(r.cfg, func(c *Config) { c.Dialect = "nx-os" }), switchdrv.Options{Name: "sw1"}); err == nil || !strings.Contains(err.Error(), "cisco-ios") {
		t.Fatalf("unknown dialect: %v", err)
	}
}

func TestStaleAllowedListCleared(t *testing.T) {
	r := newRig(t, "cisco-ios", nil)
	ps := portNames("cisco-ios", 2)
	ctx := ctxT(t)
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps[:1]}); err != nil {
		t.Fatal(err)
	}
	// `no vlan 100` leaves the trunk's allowed list as it is: a re-created
	// VLAN 100 would reach that port again unless removing it clears it.
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Delete: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok := emuVLAN(r, 100); ok {
		t.Fatal("VLAN 100 not deleted")
	}
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Remove: ps[:1]}); err != nil {
		t.Fatal(err)
	}
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps[1:]}); err != nil {
		t.Fatal(err)
	}
	if v, _ := emuVLAN(r, 100); !slices.Equal(v.Tagged, ps[1:]) {
		t.Fatalf("re-created VLAN 100: %s, want tagged only %v", fmtVLAN(v), ps[1:])
	}
}

func TestLargeBatch(t *testing.T) {
	for _, dl := range Dialects() {
		t.Run(dl, func(t *testing.T) {
			ps := portNames(dl, 140)
			r := newRig(t, dl, func(ec *sshemu.Config, _ *config.Switch) { ec.Ports = ps })
			ctx := ctxT(t)
			if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: ps[:135]}); err != nil {
				t.Fatal(err)
			}
			if v, _ := emuVLAN(r, 100); !slices.Equal(v.Tagged, ps[:135]) {
				t.Fatalf("%d ports tagged, want 135", len(v.Tagged))
			}
			if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Remove: ps, Delete: true}); err != nil {
				t.Fatal(err)
			}
			if _, ok := emuVLAN(r, 100); ok {
				t.Fatal("VLAN 100 still there")
			}
		})
	}
}

func TestJunosStaleCandidateNotCommitted(t *testing.T) {
	r := newRig(t, "junos", nil)
	ctx := ctxT(t)
	// A process died in configuration mode and left a change in the shared
	// candidate; the driver's next commit must not push it.
	s, err := dial(ctx, r.cfg, settings(r.cfg), r.drv.dialect, r.drv.wait)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.run(ctx, []string{"configure", "set vlans leftover vlan-id 999"}); err != nil {
		t.Fatal(err)
	}
	s.close()
	if err := r.drv.Apply(ctx, switchdrv.Change{VLAN: 100, Add: portNames("junos", 1)}); err != nil {
		t.Fatal(err)
	}
	if v, ok := emuVLAN(r, 999); ok {
		t.Fatalf("the stale candidate was committed: %s", fmtVLAN(v))
	}
}

func TestPagerInBatchIsAnError(t *testing.T) {
	r := newRig(t, "cisco-ios", nil)
	d := *r.drv.dialect
	d.PagingOff = []string{"terminal width 511"} // paging stays on
	r.drv.dialect = &d
	_, err := r.drv.VLANs(ctxT(t))
	wantKind(t, err, switchdrv.BadAnswer)
	if !strings.Contains(err.Error(), "paged") {
		t.Fatalf("error does not say the device paged: %v", err)
	}
}

func TestIdleSessionClosed(t *testing.T) {
	r := newRig(t, "procurve", nil)
	r.drv.idleClose = time.Millisecond
	ctx := ctxT(t)
	if _, err := r.drv.VLANs(ctx); err != nil {
		t.Fatal(err)
	}
	for open := true; open; {
		select {
		case <-ctx.Done():
			t.Fatal("the idle session was never closed")
		case <-time.After(5 * time.Millisecond):
		}
		r.drv.mu.Lock()
		open = r.drv.sess != nil
		r.drv.mu.Unlock()
	}
	if _, err := r.drv.VLANs(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.emu.Sessions(); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}
}
