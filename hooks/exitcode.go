package hooks

// Manager is the resource manager that runs a hook.
type Manager string

const (
	Torque  Manager = "torque"
	Slurm   Manager = "slurm"
	OpenPBS Manager = "openpbs"
	// Standalone is vc-periodic from systemd or by hand.
	Standalone Manager = "standalone"
)

// Role is where in a job's life and on which machine a hook runs.
type Role string

const (
	RoleFirst      Role = "first"      // Torque mother superior, OpenPBS primary MoM
	RoleSister     Role = "sister"     // Torque prologue.parallel, OpenPBS sister MoM
	RolePresetup   Role = "presetup"   // Torque $presetup_prologue
	RoleController Role = "controller" // Slurm PrologSlurmctld / EpilogSlurmctld
	RoleNode       Role = "node"       // Slurm Prolog / Epilog
	RolePeriodic   Role = "periodic"
)

// Program is which binary runs.
type Program string

const (
	Prologue Program = "vc-prologue"
	Epilogue Program = "vc-epilogue"
	Periodic Program = "vc-periodic"
)

// OpenPBS exit codes, turned into accept / reject by contrib/openpbs hooks.
const (
	OpenPBSAccept  = 0
	OpenPBSAbort   = 1 // delete the job: the request is bad or refused
	OpenPBSRequeue = 2 // reject: the job is requeued, the node stays up
	OpenPBSOffline = 3 // reject and mark this vnode offline
	// Mark this vnode offline but accept the job: an ordinary job on a
	// node whose configuration is broken.
	OpenPBSOfflineAccept = 4
)

// ExitCode is the one place that says which exit status each manager needs
// to do the right thing with a failure of class c. Epilogues always exit 0:
// their failure drains a Slurm node and changes nothing for Torque jobs.
func ExitCode(m Manager, p Program, r Role, c Class) int {
	if c == OK || p == Epilogue || r == RolePresetup {
		return 0
	}
	if p == Periodic {
		return 1
	}
	if c == Degraded {
		if m == OpenPBS {
			return OpenPBSOfflineAccept
		}
		return 0 // the node was taken out by the hook itself
	}
	switch m {
	case Torque:
		// 1 aborts the job; anything else requeues it at once. A sister
		// that fails three times is marked down, so a sister only fails
		// for faults of its own.
		switch {
		case r == RoleSister && c == HostFault:
			return 2
		case r == RoleSister:
			return 0
		case c == Refused:
			return 1
		default:
			return 2
		}
	case Slurm:
		// PrologSlurmctld non-zero requeues without draining; Prolog
		// non-zero drains the node, which only a host fault deserves.
		// A refusal is carried out by scancel, so the hook itself succeeds.
		switch {
		case c == Refused:
			return 0
		case r == RoleController:
			return 1
		case c == HostFault:
			return 1
		default:
			return 0
		}
	case OpenPBS:
		switch c {
		case Refused:
			return OpenPBSAbort
		case Transient:
			return OpenPBSRequeue
		default:
			return OpenPBSOffline
		}
	}
	return 1
}
