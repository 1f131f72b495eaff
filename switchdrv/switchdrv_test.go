package switchdrv_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// lamp is a driver that exists only here: Register alone must make its
// table a valid part of the configuration and its switches openable.
type lamp struct {
	Colour string        `toml:"colour"`
	Token  config.Secret `toml:"token"`
}

func (l *lamp) Check(problem func(key, format string, args ...any)) {
	if l.Colour == "" {
		l.Colour = "green"
	}
	if l.Colour != "green" && l.Colour != "red" {
		problem("colour", "green or red, not %q", l.Colour)
	}
}

func (l *lamp) String() string { return l.Colour + " lamp" }

// lampDriver only remembers what it was opened with.
type lampDriver struct {
	switchdrv.Driver
	colour string
}

func init() {
	switchdrv.Register(switchdrv.Registration{Name: "lamp",
		Settings: func() config.SwitchSettings { return &lamp{} },
		Open: func(cfg *config.Switch, _ switchdrv.Options) (switchdrv.Driver, error) {
			return lampDriver{colour: cfg.Settings.(*lamp).Colour}, nil
		}})
}

const lampBase = `[sites.a]
vlans = ["100-199"]
[switches.l1]
site = "a"
driver = "lamp"
address = "192.0.2.1"
`

func TestRegisterAloneAddsADriver(t *testing.T) {
	c, err := config.Parse("f.toml", []byte(lampBase+"colour = \"red\"\ntoken = \"t0k3n\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	sw := c.Switches["l1"]
	set, ok := sw.Settings.(*lamp)
	if !ok || set.Colour != "red" || set.Token.Reveal() != "t0k3n" {
		t.Fatalf("settings = %#v", sw.Settings)
	}
	d, err := switchdrv.Open(sw, switchdrv.Options{Name: "l1"})
	if err != nil || d.(lampDriver).colour != "red" {
		t.Fatalf("open: %v %v", d, err)
	}
	if c, err := config.Parse("f.toml", []byte(lampBase)); err != nil || c.Switches["l1"].Settings.String() != "green lamp" {
		t.Fatalf("the driver's default is not filled in: %v", err)
	}
}

// TestDriverProblems: one problem each, with file:line and key, whether the
// driver's check finds it, the key is nobody's, or the driver is unknown
// (then its keys are not reported one by one as well).
func TestDriverProblems(t *testing.T) {
	for name, tc := range map[string]struct{ text, want string }{
		"driver's check": {lampBase + "colour = \"blue\"\n", `f.toml:7: switches.l1.colour: green or red, not "blue"`},
		"unknown key":    {lampBase + "color = \"red\"\n", `f.toml:7: switches.l1.color: unknown key`},
		"wrong type":     {lampBase + "colour = 7\n", `f.toml:7: switches.l1.colour: incompatible types`},
		"wrong type, the switch referenced": {lampBase + "timeout = 7\n[hosts.h1]\nsite = \"a\"\nswitch = \"l1\"\nports = [\"1\"]\n",
			`f.toml:7: switches.l1.timeout: not a duration`},
		"unknown driver": {strings.Replace(lampBase, `"lamp"`, `"bulb"`, 1) + "watts = 60\nvolts = 230\n", `f.toml:5: switches.l1.driver: unknown driver "bulb" (lamp)`},
		"no driver":      {strings.Replace(lampBase, "driver = \"lamp\"\n", "", 1) + "colour = \"red\"\n", `f.toml:3: switches.l1.driver: missing (lamp)`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Parse("f.toml", []byte(tc.text))
			var ps config.Problems
			if !errors.As(err, &ps) || len(ps) != 1 || !strings.HasPrefix(ps[0].String(), tc.want) {
				t.Fatalf("got %v, want one problem: %s", err, tc.want)
			}
		})
	}
	_, err := switchdrv.Open(&config.Switch{Driver: "bulb"}, switchdrv.Options{Name: "l1"})
	if err == nil || !strings.Contains(err.Error(), `no driver "bulb" is registered (known: lamp)`) {
		t.Fatalf("open of an unknown driver: %v", err)
	}
}
