package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// xenVif is the Xen vif hotplug script. libxl runs it as `<script>
// online|offline` (type_if=vif) or `add|remove` (type_if=tap, the emulated
// NIC of an HVM guest) with XENBUS_PATH=backend/vif/<domid>/<devid> and
// vif=vif<domid>.<devid> in the environment.
func xenVif(e *env, action string) error {
	ctx, cancel := context.WithTimeout(e.ctx, XenTimeout)
	defer cancel()
	path := os.Getenv("XENBUS_PATH")
	if path == "" {
		return usageError{"xen-vif: XENBUS_PATH is not set: libxl runs this as the vif's hotplug script"}
	}
	typeIf := os.Getenv("type_if")
	if typeIf == "" {
		typeIf = "vif"
	}
	dev := os.Getenv("vif")
	if typeIf == "tap" && os.Getenv("INTERFACE") != "" {
		dev = os.Getenv("INTERFACE")
	}
	if dev == "" {
		return usageError{"xen-vif: neither vif nor INTERFACE is set in the environment"}
	}
	log := e.log.With("xenbus_path", path, "iface", dev, "action", action)
	switch action {
	case "online", "add":
		err := func() error {
			br, err := xenstoreRead(ctx, path+"/bridge")
			if err != nil {
				return err
			}
			vlan, err := e.host.VLANOfBridge(br)
			if err != nil {
				return fmt.Errorf("xen-vif %s: %w", dev, err)
			}
			return e.host.Attach(ctx, vlan, dev)
		}()
		if err != nil {
			if werr := xenstoreWrite(ctx, path+"/hotplug-error", err.Error(), path+"/hotplug-status", "error"); werr != nil {
				log.Error("cannot report the failure to xenstore", "err", werr)
			}
			return err
		}
		if typeIf == "vif" && action == "online" {
			return xenstoreWrite(ctx, path+"/hotplug-status", "connected")
		}
		return nil
	case "offline", "remove":
		return e.host.Detach(ctx, dev)
	default:
		return usageError{fmt.Sprintf("xen-vif: action must be online, offline, add or remove, not %q", action)}
	}
}

func xenstoreRead(ctx context.Context, key string) (string, error) {
	out, err := xenstore(ctx, "xenstore-read", key)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

func xenstoreWrite(ctx context.Context, kv ...string) error {
	_, err := xenstore(ctx, "xenstore-write", kv...)
	return err
}

func xenstore(ctx context.Context, tool string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", tool, args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
