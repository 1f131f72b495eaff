package cli

import (
	"flag"
	"fmt"

	"github.com/urfave/cli/v2"
)

// urfave/cli v2 adds its one package-global cli.HelpFlag to every app and
// command it runs, and applying it writes to it: two Mains at once (parallel
// tests) race there. helpFlag is the same flag without state, each use a
// fresh copy; it is installed once, before any Main.
func init() { cli.HelpFlag = helpFlag{} }

type helpFlag struct{}

func (helpFlag) fresh() *cli.BoolFlag {
	return &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help", DisableDefaultText: true}
}

func (h helpFlag) Apply(set *flag.FlagSet) error { return h.fresh().Apply(set) }
func (h helpFlag) Names() []string               { return h.fresh().Names() }
func (h helpFlag) IsSet() bool                   { return false }
func (h helpFlag) String() string                { return h.fresh().String() }
func (h helpFlag) TakesValue() bool              { return false }
func (h helpFlag) GetUsage() string              { return h.fresh().GetUsage() }
func (h helpFlag) GetValue() string              { return "" }
func (h helpFlag) GetDefaultText() string        { return h.fresh().GetDefaultText() }
func (h helpFlag) GetEnvVars() []string          { return nil }
func (h helpFlag) IsDefaultVisible() bool        { return false }
func (h helpFlag) IsVisible() bool               { return true }
func (h helpFlag) GetCategory() string           { return "" }

// prepare readies a run's own command tree:
//   - urfave/cli v2 adds its package-global help subcommand under each command
//     and writes to it as it runs (a race between two Mains): hidden, so
//     "vcctl help" and every --help stay and "vcctl lease help" goes;
//   - a flag that does not parse, and a required flag missing, are usage
//     errors (exit 2) by their type, not by the library's wording.
func prepare(cmds []*cli.Command) {
	for _, c := range cmds {
		c.HideHelpCommand = true
		c.OnUsageError = onUsageError
		if req := takeRequired(c.Flags); len(req) > 0 {
			before := c.Before
			c.Before = func(ctx *cli.Context) error {
				for _, name := range req {
					if !ctx.IsSet(name) {
						return usageError{fmt.Errorf("%s needs --%s", ctx.Command.FullName(), name)}
					}
				}
				if before != nil {
					return before(ctx)
				}
				return nil
			}
		}
		prepare(c.Subcommands)
	}
}

// usageError is bad arguments: exit code 2.
type usageError struct{ error }

func (usageError) ExitCode() int { return ExitUsage }

func onUsageError(_ *cli.Context, err error, _ bool) error { return usageError{err} }

// takeRequired returns the names of the required flags and makes them
// optional for urfave/cli, whose own error for a missing one is untyped;
// prepare's Before checks them instead.
func takeRequired(flags []cli.Flag) []string {
	var names []string
	for _, f := range flags {
		if r, ok := f.(cli.RequiredFlag); !ok || !r.IsRequired() {
			continue
		}
		switch f := f.(type) {
		case *cli.StringFlag:
			f.Required = false
		case *cli.StringSliceFlag:
			f.Required = false
		case *cli.DurationFlag:
			f.Required = false
		default:
			panic(fmt.Sprintf("vcctl: required flag %s of type %T: add it to takeRequired", f.Names()[0], f))
		}
		names = append(names, f.Names()[0])
	}
	return names
}
