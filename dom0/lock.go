package dom0

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lock takes VLAN vlan's lock file in the state directory, so that processes
// started by Xen, libvirt and the scheduler for the same VLAN at once run one
// after the other: a detach never removes a bridge an attach is joining.
// flock locks die with their process, so a crash leaves no stale lock.
func (h *Host) lock(ctx context.Context, vlan int) (func(), error) {
	dir := filepath.Join(h.cfg.StateDir, "locks")
	path := filepath.Join(dir, fmt.Sprintf("vlan-%d.lock", vlan))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("lock VLAN %d: %w", vlan, err)
		}
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("lock VLAN %d: %w", vlan, err)
	}
	wait := 500 * time.Microsecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			// Closing a lock file that was only flocked, never written,
			// releases the lock whatever close reports.
			return func() { _ = f.Close() }, nil
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			_ = f.Close() // never written: nothing to lose
			return nil, fmt.Errorf("lock VLAN %d: %w", vlan, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close() // never written: nothing to lose
			return nil, fmt.Errorf("lock VLAN %d: %w", vlan, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}
