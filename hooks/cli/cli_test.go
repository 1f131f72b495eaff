package cli

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHookBinariesLinkNoNetlink: the hooks leave netlink to vc-dom0, so a
// hook run for an ordinary job loads (and initialises) none of it. go list
// -deps is what the linker may put into the binary.
func TestHookBinariesLinkNoNetlink(t *testing.T) {
	banned := []string{"github.com/google/nftables", "github.com/mdlayher/netlink", "github.com/vishvananda/",
		"github.com/virtcloud/virtcloud/dom0"}
	for _, cmd := range []string{"vc-prologue", "vc-epilogue", "vc-periodic"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/virtcloud/virtcloud/cmd/"+cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", cmd, err, out)
		}
		for _, pkg := range strings.Fields(string(out)) {
			for _, b := range banned {
				if strings.HasPrefix(pkg, b) {
					t.Errorf("%s links %s", cmd, pkg)
				}
			}
		}
	}
}
