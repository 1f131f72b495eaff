// Package cli is the vcctl command line, kept apart from its main so tests
// run it in-process against a real lease server.
//
// vcctl has no component beneath its command line: everything it knows of
// the server comes through internal/client and internal/api, which the hooks
// and vc-dom0 share. Its CLI still lives where every command's does, in a
// cli package beside its component (leasesrv/cli, dom0/cli, vcctl/cli), so
// that each cmd/NAME/main.go only calls NAME's cli.Main and a newcomer finds
// every binary's commands and flags in one kind of place.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/urfave/cli/v2"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
)

// Exit codes, documented in --help.
const (
	ExitOK          = 0
	ExitFailure     = 1 // the server refused the request
	ExitUsage       = 2 // bad arguments
	ExitUnreachable = 3 // no answer from the server
	ExitNotFound    = 4 // no such lease
)

// description is in --help and the man page: the environment and exit codes.
const description = `--server and --token also come from VIRTCLOUD_SERVER and VIRTCLOUD_TOKEN.
Completion: vcctl completion bash|zsh|fish. Manual page: vcctl man.

Exit codes:
   0  success
   1  the server refused the request (the message says why); for audit:
      drift remains (found without --fix, or not fixable) or a switch did not answer
   2  bad arguments
   3  the server could not be reached or its store is down
   4  no such lease`

// Main runs vcctl and returns its exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	return MainContext(context.Background(), args, stdout, stderr)
}

// MainContext is Main ending when ctx does (lease list --watch runs until then).
func MainContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := &cli.App{
		Name:        "vcctl",
		Usage:       "see and force VirtCloud leases, pools and switches",
		Description: description,
		Writer:      stdout,
		ErrWriter:   stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "server", Value: "http://127.0.0.1:7480", EnvVars: []string{"VIRTCLOUD_SERVER"}, Usage: "lease server `URL`"},
			&cli.StringFlag{Name: "token", EnvVars: []string{"VIRTCLOUD_TOKEN"}, Usage: "API `TOKEN` (prefer the environment: arguments show in ps)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table or json"},
			&cli.DurationFlag{Name: "timeout", Value: 60 * time.Second, Usage: "give up after `DURATION`"},
		},
		Before: func(c *cli.Context) error {
			if o := c.String("output"); o != "table" && o != "json" {
				return cli.Exit(fmt.Sprintf("--output must be table or json, not %q", o), ExitUsage)
			}
			if u, err := url.Parse(c.String("server")); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return cli.Exit(fmt.Sprintf("--server %s: not an http:// or https:// URL", config.RedactURL(c.String("server"))), ExitUsage)
			}
			if d := c.Duration("timeout"); d <= 0 {
				return cli.Exit(fmt.Sprintf("--timeout must be positive, not %s", d), ExitUsage)
			}
			return nil
		},
		Commands: []*cli.Command{
			{
				Name:  "lease",
				Usage: "leases of cluster jobs",
				Subcommands: []*cli.Command{
					{Name: "list", Aliases: []string{"ls"}, Usage: "list leases", Action: leaseList, Flags: []cli.Flag{
						&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "list again whenever the leases change, until interrupted"},
						&cli.DurationFlag{Name: "interval", Value: 2 * time.Second, Usage: "with --watch, ask the server every `DURATION`"},
					}},
					{Name: "show", Usage: "show one lease", ArgsUsage: "JOB", Action: leaseShow,
						Flags: []cli.Flag{&cli.BoolFlag{Name: "history", Usage: "also show the lease's audit trail"}}},
					{Name: "create", Usage: "grant a lease", Action: leaseCreate, Flags: []cli.Flag{
						&cli.StringFlag{Name: "job", Required: true},
						&cli.StringFlag{Name: "owner"},
						&cli.StringSliceFlag{Name: "host", Required: true, Usage: "a host of the cluster (repeat)"},
						&cli.DurationFlag{Name: "ttl", Usage: "lifetime (default: the server's)"},
						&cli.StringSliceFlag{Name: "attr", Usage: "KEY=VALUE attribute (repeat)"},
					}},
					{Name: "commit", Usage: "configure the network of a lease and wait until it is active", ArgsUsage: "JOB", Action: leaseCommit,
						Flags: []cli.Flag{&cli.Int64Flag{Name: "lease-token", Usage: "the lease's fencing token (default: read it)"}}},
					{Name: "renew", Usage: "set a new lifetime from now", ArgsUsage: "JOB", Action: leaseRenew, Flags: []cli.Flag{
						&cli.DurationFlag{Name: "ttl", Required: true},
						&cli.Int64Flag{Name: "lease-token", Usage: "the lease's fencing token (default: read it)"},
					}},
					{Name: "patch", Usage: "add or remove hosts of a lease (a guest migrating): the VLAN follows, reserved at a new site first", ArgsUsage: "JOB", Before: needHosts, Action: leasePatch, Flags: []cli.Flag{
						&cli.StringSliceFlag{Name: "add", Usage: "a `HOST` joining the cluster (repeat)"},
						&cli.StringSliceFlag{Name: "remove", Usage: "a `HOST` leaving the cluster (repeat)"},
						&cli.Int64Flag{Name: "lease-token", Usage: "the lease's fencing token (default: read it)"},
					}},
					{Name: "release", Aliases: []string{"rm"}, Usage: "end a lease", ArgsUsage: "JOB", Action: leaseRelease, Flags: []cli.Flag{
						&cli.BoolFlag{Name: "force", Usage: "without the lease's token (admins)"},
						&cli.Int64Flag{Name: "lease-token", Usage: "the lease's fencing token (default: read it)"},
					}},
				},
			},
			{
				Name:  "pool",
				Usage: "VLAN pools of the sites",
				Subcommands: []*cli.Command{
					{Name: "show", Aliases: []string{"ls"}, Usage: "free, held, active and quarantined VLANs per site", Action: poolShow},
				},
			},
			{
				Name:  "store",
				Usage: "the lease store (Redis)",
				Subcommands: []*cli.Command{
					{Name: "recover", Usage: "after Redis lost or rolled back its data (/healthz says store_lost): keep the VLANs the switches carry out of the pools as orphans, raise the fencing counter, write a new store identity (admins)",
						Action: storeRecover},
				},
			},
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	for _, cmds := range extraCommands {
		app.Commands = append(app.Commands, cmds()...)
	}
	app.OnUsageError = onUsageError
	prepare(app.Commands)
	if n := len(args); n > 0 && args[n-1] == completeFlag {
		complete(app, args[1:n-1], stdout)
		return ExitOK
	}
	err := app.RunContext(ctx, flagsFirst(app, args))
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "vcctl: %s\n", printable(oneLine(err)))
	return exitCode(err)
}

// extraCommands build the commands of other files (switch, audit,
// completion). Each run builds its own: urfave/cli changes commands and flags
// as it runs, so sharing them between runs (tests run Main in parallel) races.
var extraCommands []func() []*cli.Command

func exitCode(err error) int {
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ec):
		return ec.ExitCode()
	case client.Code(err) == api.CodeNotFound:
		return ExitNotFound
	case client.Unreachable(err):
		return ExitUnreachable
	case client.Code(err) != "":
		return ExitFailure
	}
	return ExitFailure
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func conn(c *cli.Context) (*client.Client, context.Context, context.CancelFunc) {
	return connFrom(c.Context, c)
}

// connFrom is conn for one call of a command that runs until ctx ends.
func connFrom(parent context.Context, c *cli.Context) (*client.Client, context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, c.Duration("timeout"))
	cl := client.New(c.String("server"), c.String("token"))
	cl.WithHTTPClient(&http.Client{Timeout: c.Duration("timeout"), Transport: http.DefaultTransport})
	return cl, ctx, cancel
}

func arg(c *cli.Context, name string) (string, error) {
	if c.NArg() != 1 {
		return "", cli.Exit(fmt.Sprintf("%s needs exactly one %s", c.Command.FullName(), name), ExitUsage)
	}
	return c.Args().First(), nil
}

func emit(c *cli.Context, v any, table func(w *tabwriter.Writer)) error {
	return emitTo(c.App.Writer, c, v, "  ", table)
}

// emitTo writes v as JSON (indented by indent; "" for one line) or as a table.
func emitTo(out io.Writer, c *cli.Context, v any, indent string, table func(w *tabwriter.Writer)) error {
	if c.String("output") == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", indent)
		return enc.Encode(v)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}

func leaseRows(w *tabwriter.Writer, ls []api.Lease) {
	row(w, "JOB", "OWNER", "VLAN", "STATE", "SITES", "HOSTS", "EXPIRES", "FAILED")
	for _, l := range ls {
		row(w, l.Job, l.Owner, l.VLAN, l.State, strings.Join(l.Sites, ","), strings.Join(l.Hosts, ","),
			l.ExpiresAt.Local().Format(time.DateTime), l.FailedStarts)
	}
}

// row writes one table line. A cell holding anything not printable is
// shown quoted and escaped as strconv.Quote does, so a value stored in a
// lease (or reported by a device) cannot move the cursor, ring the bell or
// retitle the terminal of whoever lists it.
func row(w io.Writer, cells ...any) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(w, "\t")
		}
		io.WriteString(w, printable(fmt.Sprint(c)))
	}
	io.WriteString(w, "\n")
}

// printable is s, or s quoted when it holds a character that is not
// printable (ESC, BEL, a tab or newline in a cell, a bidi override).
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func leaseList(c *cli.Context) error {
	if c.Bool("watch") {
		return leaseWatch(c)
	}
	cl, ctx, cancel := conn(c)
	defer cancel()
	ls, err := cl.List(ctx)
	if err != nil {
		return err
	}
	return emit(c, ls, func(w *tabwriter.Writer) { leaseRows(w, ls) })
}

func leaseShow(c *cli.Context) error {
	job, err := arg(c, "JOB")
	if err != nil {
		return err
	}
	cl, ctx, cancel := conn(c)
	defer cancel()
	l, err := cl.Get(ctx, job)
	if err != nil {
		return err
	}
	if !c.Bool("history") {
		return emit(c, l, func(w *tabwriter.Writer) { leaseDetail(w, l) })
	}
	ev, err := cl.History(ctx, job)
	if err != nil {
		return err
	}
	out := struct {
		*api.Lease
		History []api.Event `json:"history"`
	}{l, ev}
	return emit(c, out, func(w *tabwriter.Writer) {
		leaseDetail(w, l)
		fmt.Fprintln(w)
		row(w, "WHEN", "WHO", "ACTION", "RESULT", "DETAIL")
		for _, e := range ev {
			row(w, e.At.Local().Format("2006-01-02 15:04:05.000"), e.Actor, e.Action, e.Result, e.Detail)
		}
	})
}

func leaseDetail(w *tabwriter.Writer, l *api.Lease) {
	field := func(k string, v any) { row(w, k+":", v) }
	field("job", l.Job)
	field("owner", l.Owner)
	field("vlan", l.VLAN)
	field("state", l.State)
	if l.Reason != "" {
		field("reason", l.Reason)
	}
	field("sites", strings.Join(l.Sites, ", "))
	field("hosts", strings.Join(l.Hosts, ", "))
	field("token", l.Token)
	field("created", l.CreatedAt.Local().Format(time.DateTime))
	field("expires", l.ExpiresAt.Local().Format(time.DateTime))
	field("failed starts", l.FailedStarts)
	for k, v := range l.Attributes {
		field("attribute "+k, v)
	}
}

func leaseCreate(c *cli.Context) error {
	attrs := map[string]string{}
	for _, kv := range c.StringSlice("attr") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return cli.Exit(fmt.Sprintf("--attr %q: use KEY=VALUE", kv), ExitUsage)
		}
		attrs[k] = v
	}
	cl, ctx, cancel := conn(c)
	defer cancel()
	l, created, err := cl.Create(ctx, client.CreateRequest{Job: c.String("job"), Owner: c.String("owner"),
		Hosts: c.StringSlice("host"), TTLSeconds: int64(c.Duration("ttl").Seconds()), Attributes: attrs})
	if err != nil {
		return err
	}
	if !created && c.String("output") == "table" {
		fmt.Fprintln(c.App.ErrWriter, "vcctl: the job already had this lease")
	}
	return emit(c, l, func(w *tabwriter.Writer) { leaseDetail(w, l) })
}

// leaseToken is the lease's fencing token: given, or read from the server
// (an admin acting by hand).
func leaseToken(ctx context.Context, c *cli.Context, cl *client.Client, job string) (int64, error) {
	if t := c.Int64("lease-token"); t != 0 {
		return t, nil
	}
	l, err := cl.Get(ctx, job)
	if err != nil {
		return 0, err
	}
	return l.Token, nil
}

// withToken runs a lease operation that needs the lease's fencing token and
// prints the lease it returns.
func withToken(op func(ctx context.Context, c *cli.Context, cl *client.Client, job string, token int64) (*api.Lease, error)) cli.ActionFunc {
	return func(c *cli.Context) error {
		job, err := arg(c, "JOB")
		if err != nil {
			return err
		}
		cl, ctx, cancel := conn(c)
		defer cancel()
		var tok int64
		if !c.Bool("force") {
			if tok, err = leaseToken(ctx, c, cl, job); err != nil {
				return err
			}
		}
		stop := newProgress(c.App.ErrWriter).waiting("lease " + c.Command.Name + " " + job + ": waiting for the server")
		l, err := op(ctx, c, cl, job, tok)
		stop()
		if err != nil {
			return err
		}
		return emit(c, l, func(w *tabwriter.Writer) { leaseDetail(w, l) })
	}
}

var (
	leaseCommit = withToken(func(ctx context.Context, c *cli.Context, cl *client.Client, job string, tok int64) (*api.Lease, error) {
		return cl.WaitActive(ctx, job, tok)
	})
	leaseRenew = withToken(func(ctx context.Context, c *cli.Context, cl *client.Client, job string, tok int64) (*api.Lease, error) {
		return cl.Renew(ctx, job, tok, int64(c.Duration("ttl").Seconds()))
	})
	leasePatch = withToken(func(ctx context.Context, c *cli.Context, cl *client.Client, job string, tok int64) (*api.Lease, error) {
		return cl.Patch(ctx, job, tok, c.StringSlice("add"), c.StringSlice("remove"))
	})
	leaseRelease = withToken(func(ctx context.Context, c *cli.Context, cl *client.Client, job string, tok int64) (*api.Lease, error) {
		if c.Bool("force") {
			return cl.ForceRelease(ctx, job)
		}
		return cl.Release(ctx, job, tok)
	})
)

// needHosts refuses a patch without hosts before anything is asked of the
// server.
func needHosts(c *cli.Context) error {
	if len(c.StringSlice("add")) == 0 && len(c.StringSlice("remove")) == 0 {
		return cli.Exit("lease patch needs --add HOST or --remove HOST", ExitUsage)
	}
	return nil
}

func storeRecover(c *cli.Context) error {
	cl, ctx, cancel := conn(c)
	defer cancel()
	r, err := cl.RecoverStore(ctx)
	if err != nil {
		return err
	}
	return emit(c, r, func(w *tabwriter.Writer) {
		row(w, "IDENTITY", r.Identity)
		row(w, "FENCE", r.Fence)
		row(w, "ORPHANS", len(r.Orphans))
		for _, o := range r.Orphans {
			core := o.Core
			if core == "" {
				core = "-"
			}
			row(w, "  orphan", fmt.Sprintf("site %s vlan %d core %s", o.Site, o.VLAN, core))
		}
	})
}

func poolShow(c *cli.Context) error {
	cl, ctx, cancel := conn(c)
	defer cancel()
	ps, err := cl.Pools(ctx)
	if err != nil {
		return err
	}
	return emit(c, ps, func(w *tabwriter.Writer) {
		row(w, "SITE", "SIZE", "FREE", "HELD", "ACTIVE", "QUARANTINED")
		for _, p := range ps {
			row(w, p.Site, p.Size, p.Free, p.Held, p.Active, p.Quarantined)
		}
	})
}
