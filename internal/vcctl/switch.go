package vcctl

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/virtcloud/virtcloud/leasesrv/audit/auditapi"
)

func init() {
	extraCommands = append(extraCommands, &cli.Command{
		Name:  "switch",
		Usage: "managed switches and what they report",
		Subcommands: []*cli.Command{
			{Name: "list", Aliases: []string{"ls"}, Usage: "list the configured switches", Action: switchList},
			{Name: "show", Usage: "show the VLANs the device reports (read from it now)", ArgsUsage: "SWITCH", Action: switchShow,
				Flags: []cli.Flag{&cli.IntFlag{Name: "vlan", Usage: "only VLAN `N`"}}},
		},
	})
}

func switchList(c *cli.Context) error {
	cl, ctx, cancel := conn(c)
	defer cancel()
	var sws []auditapi.Switch
	if err := cl.Do(ctx, "GET", "/v1/switches", nil, &sws); err != nil {
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
	path := "/v1/switches/" + url.PathEscape(name)
	if c.IsSet("vlan") {
		vid := c.Int("vlan")
		if vid < 1 || vid > 4094 {
			return cli.Exit(fmt.Sprintf("--vlan %d: a VLAN ID is 1-4094", vid), ExitUsage)
		}
		path += "?vlan=" + strconv.Itoa(vid)
	}
	cl, ctx, cancel := conn(c)
	defer cancel()
	var sv auditapi.SwitchVLANs
	if err := cl.Do(ctx, "GET", path, nil, &sv); err != nil {
		return err
	}
	return emit(c, sv, func(w *tabwriter.Writer) {
		row(w, "VLAN", "NAME", "TAGGED", "UNTAGGED")
		for _, v := range sv.VLANs {
			row(w, v.ID, orDash(v.Name), orDash(strings.Join(v.Tagged, ",")), orDash(strings.Join(v.Untagged, ",")))
		}
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
