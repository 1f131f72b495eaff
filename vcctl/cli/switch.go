package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
)

func init() {
	extraCommands = append(extraCommands, func() []*cli.Command {
		return []*cli.Command{&cli.Command{
			Name:  "switch",
			Usage: "managed switches and what they report",
			Subcommands: []*cli.Command{
				{Name: "list", Aliases: []string{"ls"}, Usage: "list the configured switches", Action: switchList},
				{Name: "show", Usage: "show the VLANs the device reports (the server's last reading, a few seconds old at most)", ArgsUsage: "SWITCH", Action: switchShow,
					Flags: []cli.Flag{&cli.IntFlag{Name: "vlan", Usage: "only VLAN `N`"}}},
			},
		}}
	})
}

func switchList(c *cli.Context) error {
	cl, ctx, cancel := conn(c)
	defer cancel()
	sws, err := cl.Switches(ctx)
	if err != nil {
		return err
	}
	return emit(c, sws, func(w *tabwriter.Writer) {
		row(w, "SWITCH", "SITE", "DRIVER", "ADDRESS", "UPLINKS")
		for _, s := range sws {
			row(w, s.Name, s.Site, s.Driver, s.Address, orDash(strings.Join(s.Uplinks, ",")))
		}
	})
}

func switchShow(c *cli.Context) error {
	name, err := arg(c, "SWITCH")
	if err != nil {
		return err
	}
	vid := 0
	if c.IsSet("vlan") {
		vid = c.Int("vlan")
		if vid < 1 || vid > 4094 {
			return cli.Exit(fmt.Sprintf("--vlan %d: a VLAN ID is 1-4094", vid), ExitUsage)
		}
	}
	cl, ctx, cancel := conn(c)
	defer cancel()
	sv, err := cl.SwitchVLANs(ctx, name, vid)
	if err != nil {
		return err
	}
	noteAge(c, sv.AgeSeconds)
	return emit(c, sv, func(w *tabwriter.Writer) {
		row(w, "VLAN", "NAME", "TAGGED", "UNTAGGED")
		for _, v := range sv.VLANs {
			row(w, v.ID, orDash(v.Name), orDash(strings.Join(v.Tagged, ",")), orDash(strings.Join(v.Untagged, ",")))
		}
	})
}

// noteAge says on stderr, for a table, how old a shared reading is.
func noteAge(c *cli.Context, seconds float64) {
	if c.String("output") == "table" && seconds >= 1 {
		fmt.Fprintf(c.App.ErrWriter, "vcctl: read from the devices %s ago (an admin token reads them now)\n",
			time.Duration(seconds*float64(time.Second)).Round(time.Second))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
