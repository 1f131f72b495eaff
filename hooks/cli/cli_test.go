package cli

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHookBinariesLinkNoNetlink: the hooks leave netlink to vc-dom0, so a
// hook run for an ordinary job loads (and initialises) none of it; and
// vc-prologue and vc-epilogue, which end every ordinary job, link no HTTP,
// TLS, TOML or configuration code either, nor os, fmt or time, whose
// initialisers alone cost over a tenth of a program start (hooks/gate). go list
// -deps is what the linker may put into the binary.
func TestHookBinariesLinkNoNetlink(t *testing.T) {
	banned := []string{"github.com/google/nftables", "github.com/mdlayher/netlink", "github.com/vishvananda/",
		"github.com/virtcloud/virtcloud/dom0"}
	gateBanned := append(banned, "net/http", "crypto/tls", "crypto/x509", "github.com/BurntSushi/toml",
		"github.com/virtcloud/virtcloud/internal/config", "github.com/virtcloud/virtcloud/internal/client",
		"os", "fmt", "time", "reflect")
	for cmd, banned := range map[string][]string{"vc-prologue": gateBanned, "vc-epilogue": gateBanned,
		"vc-hook": banned, "vc-periodic": banned} {
		out, err := exec.Command("go", "list", "-deps", "github.com/virtcloud/virtcloud/cmd/"+cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", cmd, err, out)
		}
		for _, pkg := range strings.Fields(string(out)) {
			for _, b := range banned {
				if pkg == b || strings.HasPrefix(pkg, strings.TrimSuffix(b, "/")+"/") {
					t.Errorf("%s links %s", cmd, pkg)
				}
			}
		}
	}
}
