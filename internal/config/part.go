package config

import (
	"fmt"
	"os"

	"github.com/BurntSushi/toml"
)

// LoadPart reads a file like Load but validates only the named tables
// ("dom0", "hooks"), for binaries that run on machines holding only their own
// part of the configuration (a hypervisor host keeps just [dom0]). The whole
// file is still decoded, so an unknown key anywhere is still an error.
func LoadPart(path string, tables ...string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c := &Config{Path: path, src: b}
	md, err := toml.Decode(string(b), c)
	if err != nil {
		return nil, parseError(path, err)
	}
	var probs Problems
	for _, k := range md.Undecoded() {
		probs.add(c, k.String(), "unknown key")
	}
	c.applyDefaults()
	for _, t := range tables {
		switch t {
		case "dom0":
			if c.Dom0 == nil {
				probs.add(c, "dom0", "missing: this binary needs a [dom0] table")
			}
			c.validateDom0(&probs)
		case "hooks":
			if c.Hooks == nil {
				probs.add(c, "hooks", "missing: this binary needs a [hooks] table")
			}
			c.validateHooks(&probs)
		default:
			return nil, fmt.Errorf("load config: no table %q can be validated alone", t)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return c, nil
}
