package dom0

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// whileModuleLoads retries op, for up to five seconds, while loading says its
// error may come from a kernel module that is still being loaded. The first
// use of a feature since boot makes the kernel load its module; a process
// that asks while another's load is in progress is refused, although the
// module is there a moment later. Hosts meet this when they start several
// guests at once after boot; a loaded host under emulation (the VM tests)
// has taken more than a second.
func whileModuleLoads(ctx context.Context, loading func(error) bool, op func() error) error {
	for tries := 1; ; tries++ {
		err := op()
		if err == nil || !loading(err) || tries == moduleLoadTries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// moduleLoadTries, 50 ms apart: five seconds.
const moduleLoadTries = 100

// nftablesLoading: the first nftables use loads nfnetlink, nf_tables and its
// bridge support, and the refusal meanwhile depends on the step reached
// (EPROTONOSUPPORT for the socket, ECONNREFUSED or EINVAL for a message,
// ENOENT for the chain type). Only a lack of privilege is final at once.
func nftablesLoading(err error) bool {
	return !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES)
}

// linkKindLoading: rtnetlink answers EOPNOTSUPP ("Unknown device type")
// while the module of a link kind (8021q, bridge) is not there yet.
func linkKindLoading(err error) bool { return errors.Is(err, unix.EOPNOTSUPP) }
