package ssh

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGoldenCommands pins the command lists each dialect renders for a
// change, as the device receives them (configuration mode, commit included).
func TestGoldenCommands(t *testing.T) {
	for _, dl := range Dialects() {
		d := dialects[dl]
		ps := portNames(dl, 12)
		cases := map[string]plan{
			"add":    {VLAN: 100, Name: "vc-100", Current: "vc-100", Create: true, Tag: ps[:7]},
			"tag":    {VLAN: 100, Name: "vc-100", Current: "vc-100", Tag: ps[7:9]},
			"remove": {VLAN: 100, Name: "vc-100", Current: "vc-100", Untag: ps[:3]},
			"delete": {VLAN: 100, Name: "vc-100", Current: "vc-100", Untag: ps[3:5], Delete: true, Members: ps[5:7]},
		}
		for name, p := range cases {
			t.Run(dl+"-"+name, func(t *testing.T) {
				r, err := d.render(p, false)
				if err != nil {
					t.Fatal(err)
				}
				var all []string
				all = append(all, d.ConfigEnter...)
				all = append(all, r.lines...)
				all = append(all, d.Commit...)
				all = append(all, d.ConfigExit...)
				got := strings.Join(all, "\n") + "\n"
				file := filepath.Join("testdata", "golden", dl+"-"+name+".txt")
				if *update {
					if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if got != string(want) {
					t.Fatalf("%s renders\n%s\nwant (%s)\n%s", dl, got, file, want)
				}
			})
		}
	}
}

// TestGoldenTranscripts pins, per dialect, the whole conversation of a
// change with the dialect's emulator (prompts, commands, the device's
// answers): add a VLAN to three ports, remove one, delete the VLAN. The
// IOS that refuses the richer commands and `interface range` has its own.
func TestGoldenTranscripts(t *testing.T) {
	type variant struct {
		name, dialect string
		refuse        []string
	}
	var vs []variant
	for _, dl := range Dialects() {
		vs = append(vs, variant{dl, dl, nil})
	}
	vs = append(vs, variant{"cisco-ios-refusing", "cisco-ios", []string{"show interfaces status", "show interfaces trunk", "interface range"}})
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			// Four ports keep the device's answers short enough to read.
			r := newRig(t, v.dialect, func(ec *sshemu.Config, _ *config.Switch) {
				ec.Ports, ec.Refuse = portNames(v.dialect, 4), v.refuse
			})
			ctx := ctxT(t)
			ps := portNames(v.dialect, 3)
			for _, c := range []switchdrv.Change{{VLAN: 100, Add: ps}, {VLAN: 100, Remove: ps[2:]}, {VLAN: 100, Remove: ps, Delete: true}} {
				if err := r.drv.Apply(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			got := r.emu.Transcript()
			file := filepath.Join("testdata", "transcripts", v.name+".txt")
			if *update {
				os.MkdirAll(filepath.Dir(file), 0o755)
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Fatalf("%s transcript differs from %s:\n%s", v.name, file, got)
			}
		})
	}
}
