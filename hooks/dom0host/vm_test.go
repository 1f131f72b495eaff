//go:build vmtest

// Kernel test of the hooks' host networking through the real vc-dom0:
// 802.1Q devices and bridges, which this project's CI kernel lacks. Built
// with -tags vmtest and run in a throw-away VM by scripts/phases/50-slurm.sh,
// with the vc-dom0 binary in the directory VIRTCLOUD_TEST_BIN names.
package dom0host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/hostjob"
)

func TestSetupCleanup(t *testing.T) {
	for _, mode := range []string{"classic", "vlan-aware"} {
		t.Run(mode, func(t *testing.T) {
			trunk := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "vctrunk0"}}
			if err := netlink.LinkAdd(trunk); err != nil {
				t.Fatalf("add trunk: %v", err)
			}
			t.Cleanup(func() { netlink.LinkDel(trunk) })
			if err := netlink.LinkSetUp(trunk); err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(t.TempDir(), "state")
			path := filepath.Join(t.TempDir(), "virtcloud.toml")
			toml := fmt.Sprintf("[dom0]\ntrunk = \"vctrunk0\"\nmode = %q\nstate_dir = %q\n", mode, state)
			if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
				t.Fatal(err)
			}
			bin := os.Getenv("VIRTCLOUD_TEST_BIN")
			if bin == "" {
				t.Fatal("VIRTCLOUD_TEST_BIN names no directory with vc-dom0")
			}
			h, err := Open(&config.Dom0{StateDir: state}, path, func(k string) string { return map[string]string{"PATH": bin}[k] })
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			job := hostjob.Job{Job: "41.torque-srv", VLAN: 203, State: "active", Token: 7, Server: "http://127.0.0.1:7480"}
			br, err := h.Setup(ctx, job)
			if err != nil {
				t.Fatalf("setup: %v", err)
			}
			if _, err := netlink.LinkByName(br); err != nil {
				t.Fatalf("bridge %s: %v", br, err)
			}
			if again, err := h.Setup(ctx, job); err != nil || again != br {
				t.Fatalf("second setup: %q %v", again, err)
			}
			jobs, err := h.Jobs(ctx)
			if err != nil || len(jobs) != 1 || jobs[0].VLAN != 203 || jobs[0].Bridge != br || jobs[0].Token != 7 {
				t.Fatalf("jobs: %+v %v", jobs, err)
			}
			for range 2 {
				if err := h.Cleanup(ctx, job.Job); err != nil {
					t.Fatalf("cleanup: %v", err)
				}
			}
			if jobs, _ := h.Jobs(ctx); len(jobs) != 0 {
				t.Fatalf("job file left: %+v", jobs)
			}
			if mode == "classic" {
				var nf netlink.LinkNotFoundError
				if _, err := netlink.LinkByName(br); !errors.As(err, &nf) {
					t.Fatalf("bridge %s left after cleanup: %v", br, err)
				}
			}
		})
	}
}
