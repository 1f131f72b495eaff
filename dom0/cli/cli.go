// Package cli is vc-dom0's command line: the administrator's commands, the
// lease garbage collector and the entry points Xen (vif script) and libvirt
// (hook) call. cmd/vc-dom0 only hands it argv and stdio.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/vishvananda/netns"

	"github.com/virtcloud/virtcloud/dom0"
	"github.com/virtcloud/virtcloud/internal/config"
)

// XenTimeout bounds a xen-vif run: libxl gives hotplug scripts 40 s (10 s in
// older releases) before it fails the domain build.
const XenTimeout = 8 * time.Second

// usageError is a command line mistake (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Main runs vc-dom0 and returns its exit status: 0 done, 1 failed, 2 bad
// usage. Called as vif-<anything> (a symlink in /etc/xen/scripts) it is the
// Xen vif script: `vif-virtcloud online` means `vc-dom0 xen-vif online`.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && strings.HasPrefix(filepath.Base(args[0]), "vif-") {
		args = append([]string{args[0], "xen-vif"}, args[1:]...)
	}
	err := newApp(stdin, stdout, stderr).Run(args)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "vc-dom0: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	vlanFlag := &cli.IntFlag{Name: "vlan", Usage: "the cluster's VLAN ID (2-4094)" + " (required)"}
	ifaceFlag := &cli.StringFlag{Name: "iface", Usage: "the guest's interface on this host (Xen vif, tap, veth)" + " (required)"}
	return &cli.App{
		Name:  "vc-dom0",
		Usage: "put a hypervisor host's guest interfaces into their virtual cluster's VLAN",
		Description: "Classic mode makes <trunk>.<N> VLAN devices and br<N> bridges; vlan-aware mode uses one\n" +
			"VLAN-filtering bridge. Every command is idempotent. Called as vif-virtcloud it is the Xen\n" +
			"vif script (xen-vif); as a libvirt hook it reads the domain XML on stdin (libvirt-hook).",
		Reader: stdin, Writer: stdout, ErrWriter: stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err.Error()}
		},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: config.DefaultPath, EnvVars: []string{"VIRTCLOUD_CONFIG"},
				Usage: "configuration `FILE`; only its [dom0] table is needed"},
			&cli.StringFlag{Name: "netns", EnvVars: []string{"VIRTCLOUD_NETNS"},
				Usage: "work in the network namespace at `PATH` (/run/netns/NAME) instead of the current one"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, EnvVars: []string{"VIRTCLOUD_TIMEOUT"},
				Usage: "give up after this long (xen-vif: at most 8s, inside libxl's hotplug timeout)"},
			&cli.BoolFlag{Name: "debug", Usage: "log every decision"},
		},
		Commands: []*cli.Command{
			{Name: "ensure", Usage: "create (or check) VLAN N's bridge and VLAN device; prints the bridge",
				Flags: []cli.Flag{vlanFlag}, Action: run(func(e *env) error {
					if err := need(e.c, "vlan"); err != nil {
						return err
					}
					br, err := e.host.Ensure(e.ctx, e.c.Int("vlan"))
					if err == nil {
						fmt.Fprintln(e.c.App.Writer, br)
					}
					return err
				})},
			{Name: "attach", Usage: "put a guest interface into VLAN N (ensuring the VLAN first)",
				Flags: []cli.Flag{vlanFlag, ifaceFlag}, Action: run(func(e *env) error {
					if err := need(e.c, "vlan", "iface"); err != nil {
						return err
					}
					return e.host.Attach(e.ctx, e.c.Int("vlan"), e.c.String("iface"))
				})},
			{Name: "detach", Usage: "take a guest interface out of its VLAN; removes the VLAN when unused",
				Flags: []cli.Flag{ifaceFlag}, Action: run(func(e *env) error {
					if err := need(e.c, "iface"); err != nil {
						return err
					}
					return e.host.Detach(e.ctx, e.c.String("iface"))
				})},
			{Name: "release", Usage: "remove VLAN N's bridge and device unless a guest or a job file uses them",
				Flags: []cli.Flag{vlanFlag}, Action: run(func(e *env) error {
					if err := need(e.c, "vlan"); err != nil {
						return err
					}
					return e.host.Release(e.ctx, e.c.Int("vlan"))
				})},
			{Name: "status", Aliases: []string{"ls"}, Usage: "list the VLANs on this host with bridges, guest ports and job files",
				Flags:  []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table or json"}},
				Action: run(status)},
			{Name: "gc", Usage: "remove devices and job files of VLANs no live lease places on this host (asks the lease server; does nothing when it cannot be reached)",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "dry-run", Usage: "only print what would be removed"}},
				Action: run(gc)},
			{Name: "xen-vif", Usage: "Xen vif hotplug script: online|offline (type_if=vif) or add|remove (type_if=tap)",
				ArgsUsage: "online|offline|add|remove",
				Description: "Reads XENBUS_PATH, vif, type_if and INTERFACE as libxl sets them, the bridge name from\n" +
					"xenstore ($XENBUS_PATH/bridge, e.g. br100 -> VLAN 100), attaches or detaches the interface and\n" +
					"reports hotplug-status (or hotplug-error) through xenstore-write. Install as\n" +
					"/etc/xen/scripts/vif-virtcloud (a symlink to vc-dom0) and use script=vif-virtcloud.",
				Action: run(func(e *env) error { return xenVif(e, e.c.Args().First()) })},
			{Name: "libvirt-hook", Usage: "libvirt hook (/etc/libvirt/hooks/qemu or libxl): OBJECT OPERATION SUBOPERATION EXTRA, domain XML on stdin",
				ArgsUsage: "OBJECT OPERATION SUBOPERATION EXTRA",
				Description: "prepare: ensure the VLAN of every interface whose bridge follows the bridge pattern (classic)\n" +
					"or is the vlan-aware bridge with <vc:network vlan=\"N\"/> in the domain metadata\n" +
					"(xmlns:vc=\"" + MetadataNS + "\"); started: attach the domain's interfaces (guard mark,\n" +
					"MTU, port VLAN); release: release those VLANs. Other operations do nothing.",
				Action: run(func(e *env) error { return libvirtHook(e, e.c.Args().Slice()) })},
		},
	}
}

// need reports the first of the named flags that was not given.
func need(c *cli.Context, names ...string) error {
	for _, n := range names {
		if !c.IsSet(n) {
			return usageError{fmt.Sprintf("%s: --%s is required", c.Command.Name, n)}
		}
	}
	return nil
}

// env is what every command works with.
type env struct {
	c    *cli.Context
	ctx  context.Context
	cfg  *config.Dom0
	host *dom0.Host
	log  *slog.Logger
}

func run(f func(*env) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		level := slog.LevelInfo
		if c.Bool("debug") {
			level = slog.LevelDebug
		}
		log := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
		conf, err := config.LoadPart(c.String("config"), "dom0")
		if err != nil {
			return err
		}
		opts := dom0.Options{Logger: log}
		if p := c.String("netns"); p != "" {
			ns, err := netns.GetFromPath(p)
			if err != nil {
				return fmt.Errorf("open network namespace %s: %w", p, err)
			}
			defer func() { _ = ns.Close() }() // a namespace handle only read through
			opts.NetNS = ns
		}
		host, err := dom0.New(conf.Dom0, opts)
		if err != nil {
			return err
		}
		defer host.Close()
		ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
		defer cancel()
		return f(&env{c: c, ctx: ctx, cfg: conf.Dom0, host: host, log: log})
	}
}

func status(e *env) error {
	st, err := e.host.Status(e.ctx)
	if err != nil {
		return err
	}
	w := e.c.App.Writer
	switch e.c.String("output") {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	case "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VLAN\tBRIDGE\tDEVICE\tPORTS\tJOBS")
		for _, s := range st {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", s.VLAN, dash(s.Bridge), dash(s.Device), dash(strings.Join(s.Ports, ",")), dash(strings.Join(s.Jobs, ",")))
		}
		return tw.Flush()
	default:
		return usageError{fmt.Sprintf("status: --output must be table or json, not %q", e.c.String("output"))}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
