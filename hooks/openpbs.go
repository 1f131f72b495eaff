package hooks

import (
	"context"
	"flag"
	"io"
	"time"

	"github.com/virtcloud/virtcloud/hooks/gate"
	"github.com/virtcloud/virtcloud/hooks/request"
	"github.com/virtcloud/virtcloud/hooks/torque"
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

// openpbsFront is OpenPBS's front end: the hook in contrib/openpbs runs the
// binaries with flags, on the primary MoM and (-sister) the others, and
// carries out every failure from the exit status.
type openpbsFront struct {
	sister   bool
	hosts    string
	walltime time.Duration
}

// parseOpenPBS reads the flags contrib/openpbs hooks pass:
//
//	vc-prologue --openpbs -job ID -user U -queue Q -walltime HH:MM:SS
//	            -hosts a,b -request STR [-sister]
func parseOpenPBS(p Program, env Env) (*Invocation, error) {
	f := &openpbsFront{}
	inv := &Invocation{Program: p, FrontEnd: f}
	fs := flag.NewFlagSet("openpbs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	job := fs.String("job", "", "job id")
	user := fs.String("user", "", "job owner")
	queue := fs.String("queue", "", "queue")
	wall := fs.String("walltime", "", "walltime [[HH:]MM:]SS")
	hosts := fs.String("hosts", "", "comma-separated execution hosts")
	req := fs.String("request", "", "request string")
	sister := fs.Bool("sister", false, "this MoM is not the job's primary")
	if err := fs.Parse(env.Args[2:]); err != nil {
		return inv, fail(HostFault, "openpbs: %w", err)
	}
	if *job == "" {
		return inv, fail(HostFault, "openpbs: -job is missing")
	}
	inv.Job, inv.User, inv.Queue = *job, *user, *queue
	f.sister, f.hosts = *sister, *hosts
	if request.Is(*req) {
		inv.Request = *req
	}
	var err error
	if f.walltime, err = seconds(torque.Walltime(*wall)); err != nil && inv.Request != "" {
		return inv, fail(Refused, "openpbs: %w", err)
	}
	return inv, nil
}

func (f *openpbsFront) Manager() string { return gate.OpenPBS }

func (f *openpbsFront) Part() Part { return Part{Owner: !f.sister} }

func (f *openpbsFront) Hosts(context.Context) ([]string, error) { return splitHostList(f.hosts) }

func (f *openpbsFront) Walltime(context.Context) (time.Duration, error) { return f.walltime, nil }

// Failed and NodeBroken: the hook does it all from the exit status.
func (f *openpbsFront) Failed(context.Context, error)           {}
func (f *openpbsFront) NodeBroken(context.Context, error, bool) {}

func (f *openpbsFront) ExitCode(c Class) int {
	switch c {
	case Degraded:
		return OpenPBSOfflineAccept
	case Refused:
		return OpenPBSAbort
	case Transient:
		return OpenPBSRequeue
	default:
		return OpenPBSOffline
	}
}
