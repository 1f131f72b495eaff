package ssh

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
