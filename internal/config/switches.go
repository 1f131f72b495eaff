package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// Switch is one managed edge switch: the keys of its [switches.NAME] table
// that every driver shares. The other keys are the driver's own: the driver
// registered under Driver decodes and checks them (see SwitchSettings), so
// that adding a driver changes nothing here.
type Switch struct {
	Site     string   `toml:"site"`
	Driver   string   `toml:"driver"`
	Address  string   `toml:"address"`
	Uplinks  []string `toml:"uplinks"`
	VLANName string   `toml:"vlan_name"`
	Timeout  Duration `toml:"timeout"`

	// Settings is the driver's part of the table as the driver decoded it;
	// nil in a binary that links no switch driver.
	Settings SwitchSettings `toml:"-"`
}

// SwitchSettings is a switch driver's own part of a [switches.NAME] table:
// a pointer to a struct whose toml tags name the driver's keys. The
// configuration decodes the table into it, so a key that neither the
// driver nor Switch names is an unknown key like any other.
type SwitchSettings interface {
	// Check fills in what the table leaves out and reports every problem
	// through problem, naming the key within the table ("community").
	Check(problem func(key, format string, args ...any))
	// String describes the settings for check-config, never a secret.
	String() string
}

// PortNamer is a SwitchSettings that knows its switch's port names: it
// returns the one form the driver writes and reads back for a name written
// in any form the switch accepts (GigabitEthernet1/0/9 is Gi1/0/9 on IOS),
// or says why it is no port of that switch. Validation keeps the returned
// form, so plans, audits and the device's own output name a port alike.
type PortNamer interface {
	CanonicalPort(port string) (string, error)
}

// The drivers' half of the configuration. Package switchdrv registers each
// driver's settings here as the driver registers itself, so config decodes
// every table without importing a driver package (drivers import config,
// not the other way round).
var (
	driversMu sync.RWMutex
	drivers   = map[string]func() SwitchSettings{}
)

// RegisterSwitchDriver is the hook through which switchdrv.Register tells
// the configuration a driver's name and how to make an empty SwitchSettings
// for one table. Driver packages call switchdrv.Register, not this.
func RegisterSwitchDriver(name string, newSettings func() SwitchSettings) {
	driversMu.Lock()
	defer driversMu.Unlock()
	drivers[name] = newSettings
}

// switchDriver returns the settings maker registered under name, and the
// names registered.
func switchDriver(name string) (func() SwitchSettings, []string) {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return drivers[name], names
}

// file is the whole file as decoded: the switch tables wait as primitives
// until their driver is known.
type file struct {
	Config
	Switches map[string]toml.Primitive `toml:"switches"`
}

// decodeSwitches decodes each [switches.NAME] table: the shared keys into
// Switch, the rest into the settings of its driver; probs are values of the
// wrong type, each at its line and key. leftToDriver names the
// tables whose own keys no registered driver reads: an unknown driver (one
// problem, not one per key), or any driver in a binary that links none (the
// hooks, vc-dom0), where they are left to the binaries that do.
func (c *Config) decodeSwitches(md *toml.MetaData, raw map[string]toml.Primitive) (probs Problems, leftToDriver map[string]bool) {
	c.Switches = map[string]*Switch{}
	leftToDriver = map[string]bool{}
	for _, name := range sortedKeys(raw) {
		sw := &Switch{}
		if err := md.PrimitiveDecode(raw[name], sw); err != nil {
			probs = append(probs, c.decodeProblem("switches."+name, err))
			continue
		}
		c.Switches[name] = sw
		newSettings, _ := switchDriver(sw.Driver)
		if newSettings == nil {
			leftToDriver[name] = true
			continue
		}
		s := newSettings()
		if err := md.PrimitiveDecode(raw[name], s); err != nil {
			probs = append(probs, c.decodeProblem("switches."+name, err))
			continue
		}
		sw.Settings = s
	}
	return probs, leftToDriver
}

// decodeProblem is a value of the wrong type, at its own line and key
// where the decoder says them: in a ParseError, or in the text of its
// plain type errors, "toml: line N (last key "K"): ...".
func (c *Config) decodeProblem(table string, err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return Problem{File: c.Path, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
	}
	var line int
	var key string
	if _, scanErr := fmt.Sscanf(err.Error(), "toml: line %d (last key %q):", &line, &key); scanErr == nil {
		_, msg, _ := strings.Cut(err.Error(), "): ")
		return Problem{File: c.Path, Line: line, Key: key, Msg: msg}
	}
	return Problem{File: c.Path, Line: c.lineOf(table), Key: table, Msg: err.Error()}
}

func (c *Config) validateSwitches(ps *Problems) {
	for _, name := range sortedKeys(c.Switches) {
		key := "switches." + name
		s := c.Switches[name]
		if !validName(name) {
			ps.add(c, key, "switch name %q: use letters, digits, '.', '_' and '-'", name)
		}
		if c.Sites[s.Site] == nil {
			ps.add(c, key+".site", "unknown site %q", s.Site)
		}
		if s.Address == "" {
			ps.add(c, key+".address", "missing")
		}
		for i := range s.Uplinks {
			c.checkPort(ps, key+".uplinks", name, &s.Uplinks[i])
		}
		if !strings.Contains(s.VLANName, "{vid}") || !ValidPort(strings.ReplaceAll(s.VLANName, "{vid}", "1")) {
			ps.add(c, key+".vlan_name", "must contain {vid} and only letters, digits, '.', '_', '-': %q", s.VLANName)
		}
		c.checkDriver(ps, key, s)
	}
}

// checkDriver has the switch's driver check its own keys. A binary that
// links no driver cannot tell a driver name from a typo and leaves both to
// the binaries that link them (leasesrv).
func (c *Config) checkDriver(ps *Problems, key string, s *Switch) {
	newSettings, known := switchDriver(s.Driver)
	switch {
	case len(known) == 0: // left to the binaries that link drivers
	case s.Driver == "":
		ps.add(c, key+".driver", "missing (%s)", orList(known))
	case newSettings == nil:
		ps.add(c, key+".driver", "unknown driver %q (%s)", s.Driver, orList(known))
	default:
		s.Settings.Check(func(k, format string, args ...any) { ps.add(c, key+"."+k, format, args...) })
	}
}

// orList writes names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
