package dom0

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWhileModuleLoads(t *testing.T) {
	ctx := context.Background()
	refused := fmt.Errorf("netlink dial: %w", unix.EPROTONOSUPPORT)
	calls := 0
	err := whileModuleLoads(ctx, nftablesLoading, func() error {
		if calls++; calls < 3 {
			return refused
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("module loaded on the third try: err %v after %d calls, want nil after 3", err, calls)
	}

	calls = 0
	missing := fmt.Errorf("conn.Receive: %w", errors.Join(fmt.Errorf("netlink receive: %w", unix.ENOENT)))
	unready := fmt.Errorf("netlink send: %w", os.NewSyscallError("sendmsg", unix.ECONNREFUSED))
	if err = whileModuleLoads(ctx, nftablesLoading, func() error {
		if calls++; calls < 3 {
			return []error{missing, unready}[calls-1]
		}
		return nil
	}); err != nil || calls != 3 {
		t.Errorf("module ready on the third try: err %v after %d calls, want nil after 3", err, calls)
	}

	calls = 0
	err = whileModuleLoads(ctx, nftablesLoading, func() error { calls++; return refused })
	if !errors.Is(err, unix.EPROTONOSUPPORT) || calls != moduleLoadTries {
		t.Errorf("module never loads: err %v after %d calls, want EPROTONOSUPPORT after %d", err, calls, moduleLoadTries)
	}

	calls = 0
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err = whileModuleLoads(cancelled, nftablesLoading, func() error { calls++; return refused }); err != refused || calls != 1 {
		t.Errorf("cancelled: %v after %d calls, want the error at once", err, calls)
	}

	calls = 0
	denied := fmt.Errorf("netlink send: %w", os.NewSyscallError("sendmsg", unix.EPERM))
	if err = whileModuleLoads(ctx, nftablesLoading, func() error { calls++; return denied }); err != denied || calls != 1 {
		t.Errorf("no privilege: %v after %d calls, want it at once", err, calls)
	}

	calls = 0
	unknownKind := fmt.Errorf("create vlan trunk0.100: %w", unix.EOPNOTSUPP)
	badArgs := fmt.Errorf("create vlan trunk0.100: %w", unix.EINVAL)
	if err = whileModuleLoads(ctx, linkKindLoading, func() error {
		if calls++; calls < 2 {
			return unknownKind
		}
		return badArgs
	}); err != badArgs || calls != 2 {
		t.Errorf("link kind: %v after %d calls, want EINVAL, final, on the second", err, calls)
	}
}
