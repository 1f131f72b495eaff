package vcctl

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/virtcloud/virtcloud/leasesrv/audit/auditapi"
)

func init() {
	extraCommands = append(extraCommands, &cli.Command{
		Name:  "audit",
		Usage: "compare the switches with what the live leases explain, within the managed VLAN ranges",
		Description: "Reads each managed switch now and reports orphan VLANs (no lease explains them), missing\n" +
			"memberships and extra ports. With --fix the server repairs them (admins). Exits 0 when\n" +
			"everything is clean or was fixed, 1 when drift remains or a switch did not answer.",
		Action: auditRun,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "switch", Usage: "only switch `S`"},
			&cli.BoolFlag{Name: "fix", Usage: "repair what is found"},
		},
	})
}

func auditRun(c *cli.Context) error {
	if c.NArg() != 0 {
		return cli.Exit("audit takes no arguments (use --switch S)", ExitUsage)
	}
	q := url.Values{}
	if s := c.String("switch"); s != "" {
		q.Set("switch", s)
	}
	method := "GET"
	if c.Bool("fix") {
		method = "POST"
		q.Set("fix", "true")
	}
	path := "/v1/audit"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	cl, ctx, cancel := conn(c)
	defer cancel()
	var rep auditapi.Report
	if err := cl.Do(ctx, method, path, nil, &rep); err != nil {
		return err
	}
	err := emit(c, rep, func(w *tabwriter.Writer) { auditRows(w, &rep) })
	if err != nil {
		return err
	}
	return auditOutcome(&rep)
}

func auditRows(w *tabwriter.Writer, rep *auditapi.Report) {
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
func auditOutcome(rep *auditapi.Report) error {
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
