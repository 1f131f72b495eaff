//go:build !vmtest

// Not in the VM, which has no Go toolchain to list the dependencies.

package cli

import (
	"os/exec"
	"strings"
	"testing"
)

// TestVcDom0LinksNoTestDouble: vc-dom0 speaks nf_tables itself rather than
// through google/nftables, whose connection type links netlink's test
// double (mdlayher/netlink/nltest) into any binary that uses it.
func TestVcDom0LinksNoTestDouble(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/virtcloud/virtcloud/cmd/vc-dom0").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "nltest") || strings.HasPrefix(pkg, "github.com/google/nftables") {
			t.Errorf("vc-dom0 links %s", pkg)
		}
	}
}
