package ssh

import (
	"fmt"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/internal/config"
)

// defaultSaveDelay is how long after the last change a switch saves its
// configuration when save is on.
const defaultSaveDelay = 5 * time.Second

// Config is the ssh driver's own part of a [switches.NAME] table: the CLI
// dialect, how to log in, and when to save (the shared keys, address among
// them, are config.Switch).
type Config struct {
	Dialect        string          `toml:"dialect"`
	Username       string          `toml:"username"`
	Password       config.Secret   `toml:"password"`
	KeyFile        string          `toml:"key_file"`
	EnablePassword config.Secret   `toml:"enable_password"`
	KnownHosts     string          `toml:"known_hosts"`
	Save           bool            `toml:"save"`
	SaveDelay      config.Duration `toml:"save_delay"`
	// CommandTimeout replaces the dialect's wait for the prompt after one
	// command (saving and committing wait at least as long as the dialect says).
	CommandTimeout config.Duration `toml:"command_timeout"`

	// insecureIgnoreHostKey skips the host key check. Only this package's
	// tests set it: no file can, being no key of the table.
	insecureIgnoreHostKey bool
}

// Check fills in the save delay and reports what the driver could not use.
func (c *Config) Check(problem func(key, format string, args ...any)) {
	if c.SaveDelay.Duration == 0 {
		c.SaveDelay.Duration = defaultSaveDelay
	}
	switch _, ok := dialects[c.Dialect]; {
	case c.Dialect == "":
		problem("dialect", "missing for the ssh driver (%s)", strings.Join(Dialects(), ", "))
	case !ok:
		problem("dialect", "unknown dialect %q (%s)", c.Dialect, strings.Join(Dialects(), ", "))
	}
	if c.Username == "" {
		problem("username", "missing for the ssh driver")
	}
	if c.Password.IsZero() && c.KeyFile == "" {
		problem("password", "set password or key_file")
	}
	if c.KnownHosts == "" && !c.insecureIgnoreHostKey {
		problem("known_hosts", "missing: the switch's host key must be checked")
	}
}

// String describes the settings for check-config.
func (c *Config) String() string {
	login := "password"
	if c.KeyFile != "" {
		login = "key " + c.KeyFile
	}
	s := fmt.Sprintf("%s CLI as %s (%s), host keys from %s", c.Dialect, c.Username, login, c.KnownHosts)
	if c.Save {
		s += fmt.Sprintf(", saved %s after the last change", c.SaveDelay)
	}
	return s
}

// CanonicalPort is the dialect's one form of a port name (Dialect.Canonical),
// so the configuration names ports as the driver and the device do. Under
// an unknown dialect the name is kept: Check reports the dialect.
func (c *Config) CanonicalPort(port string) (string, error) {
	d, ok := dialects[c.Dialect]
	if !ok {
		return port, nil
	}
	return d.Canonical(port)
}
