package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
)

func init() {
	extraCommands = append(extraCommands, func() []*cli.Command {
		return []*cli.Command{&cli.Command{
			Name:  "audit",
			Usage: "compare the switches with what the live leases explain, within the managed VLAN ranges",
			Description: "Reads each managed switch and reports orphan VLANs (no lease explains them), missing\n" +
				"memberships and extra ports. The server reads a switch at most once per its\n" +
				"device_read_interval and answers the last pass meanwhile; for an admin token it reads now.\n" +
				"With --fix the server reads them now and repairs what it finds (admins). Exits 0 when\n" +
				"everything is clean or was fixed, 1 when drift remains or a switch did not answer.\n" +
				"With --isolation it checks instead, from the switches' VLAN tables and the topology, that\n" +
				"no L2 network holds two clusters and each active cluster is one network; exits 1 when\n" +
				"one breaks the rule (named with its switches and cores) or a switch did not answer.",
			Action: auditRun,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "switch", Usage: "only switch `S`"},
				&cli.BoolFlag{Name: "fix", Usage: "repair what is found (admins; always reads the devices now)"},
				&cli.BoolFlag{Name: "isolation", Usage: "check that every cluster has an L2 network of its own"},
			},
		}}
	})
}

func auditRun(c *cli.Context) error {
	if c.NArg() != 0 {
		return cli.Exit("audit takes no arguments (use --switch S)", ExitUsage)
	}
	if c.Bool("isolation") {
		if c.IsSet("switch") || c.Bool("fix") {
			return cli.Exit("audit --isolation checks every switch and repairs nothing: drop --switch and --fix", ExitUsage)
		}
		return isolationRun(c)
	}
	cl, ctx, cancel := conn(c)
	defer cancel()
	var rep *api.AuditReport
	var err error
	if s := c.String("switch"); s != "" {
		rep, err = cl.Audit(ctx, s, c.Bool("fix"))
	} else {
		rep, err = auditAll(ctx, cl, c.Bool("fix"), newProgress(c.App.ErrWriter))
	}
	if err != nil {
		return err
	}
	noteAge(c, rep.AgeSeconds)
	if err := emit(c, rep, func(w *tabwriter.Writer) { auditRows(w, rep) }); err != nil {
		return err
	}
	return auditOutcome(rep)
}

// auditParallel is how many switches vcctl has audited at once.
const auditParallel = 4

// auditAll audits every switch, a few at a time, one request each, so the
// progress line can count the switches done; the reports are merged into
// one, as a single pass would give it.
func auditAll(ctx context.Context, cl *client.Client, fix bool, p *progress) (*api.AuditReport, error) {
	sws, err := cl.Switches(ctx)
	if err != nil {
		return nil, err
	}
	if len(sws) == 0 {
		return cl.Audit(ctx, "", fix)
	}
	defer p.done()
	p.set("audit: 0/%d switches", len(sws))
	reps := make([]*api.AuditReport, len(sws))
	var mu sync.Mutex
	finished := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(auditParallel)
	for i, sw := range sws {
		g.Go(func() error {
			rep, err := cl.Audit(gctx, sw.Name, fix)
			if err != nil {
				return err
			}
			reps[i] = rep
			mu.Lock()
			finished++
			p.set("audit: %d/%d switches (last: %s)", finished, len(sws), sw.Name)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	all := &api.AuditReport{At: reps[0].At, Fix: fix, Counts: map[string]int{}}
	for _, r := range reps {
		all.AgeSeconds = max(all.AgeSeconds, r.AgeSeconds)
		all.Switches = append(all.Switches, r.Switches...)
		for k, n := range r.Counts {
			all.Counts[k] += n
		}
		all.Drift += r.Drift
		all.Unreachable += r.Unreachable
	}
	return all, nil
}

func auditRows(w *tabwriter.Writer, rep *api.AuditReport) {
	if rep.Unreachable == 0 && len(rep.Counts) == 0 {
		fmt.Fprintf(w, "no drift: %d switch(es) carry exactly what the live leases explain\n", len(rep.Switches))
		return
	}
	row(w, "SWITCH", "KIND", "VLAN", "PORTS", "LEASE", "RESULT")
	for _, s := range rep.Switches {
		if !s.Reachable {
			row(w, s.Switch, "unreachable", "-", "-", "-", s.Error)
		}
		for _, f := range s.Findings {
			result := "found"
			switch {
			case f.Fixed:
				result = "fixed"
			case f.Error != "":
				result = "not fixed: " + f.Error
			}
			row(w, f.Switch, f.Kind, f.VLAN, orDash(strings.Join(f.Ports, ",")), orDash(f.Lease), result)
		}
	}
}

// auditOutcome is the exit status: drift left or a switch unread is 1.
func auditOutcome(rep *api.AuditReport) error {
	var parts []string
	if rep.Drift > 0 {
		msg := fmt.Sprintf("%d finding(s) not fixed", rep.Drift)
		if !rep.Fix {
			msg = fmt.Sprintf("drift found: %d finding(s); run with --fix to repair", rep.Drift)
		}
		parts = append(parts, msg)
	}
	if rep.Unreachable > 0 {
		parts = append(parts, fmt.Sprintf("%d switch(es) did not answer", rep.Unreachable))
	}
	if len(parts) == 0 {
		return nil
	}
	return cli.Exit(strings.Join(parts, "; "), ExitFailure)
}

func isolationRun(c *cli.Context) error {
	cl, ctx, cancel := conn(c)
	defer cancel()
	rep, err := cl.Isolation(ctx)
	if err != nil {
		return err
	}
	err = emit(c, rep, func(w *tabwriter.Writer) {
		if len(rep.Findings) == 0 {
			fmt.Fprintf(w, "isolated: %d VLAN(s) checked, every L2 network holds at most one cluster\n", rep.Checked)
		} else {
			fmt.Fprintln(w, "VLAN\tPROBLEM\tLEASES\tCOMPONENT\tDETAIL")
			for _, f := range rep.Findings {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", f.VLAN, f.Problem, orDash(strings.Join(f.Leases, ",")), strings.Join(f.Component, ","), f.Detail)
			}
		}
		for _, sw := range slices.Sorted(maps.Keys(rep.Unread)) {
			fmt.Fprintf(w, "switch %s not read: %s\n", sw, rep.Unread[sw])
		}
	})
	if err != nil {
		return err
	}
	switch {
	case len(rep.Findings) > 0:
		return cli.Exit(fmt.Sprintf("isolation broken: %d L2 network(s)", len(rep.Findings)), ExitFailure)
	case len(rep.Unread) > 0:
		return cli.Exit(fmt.Sprintf("isolation not proven: %d switch(es) did not answer", len(rep.Unread)), ExitFailure)
	}
	return nil
}
