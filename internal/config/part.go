package config

import (
	"fmt"
	"os"
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
	return ParsePart(path, b, tables...)
}

// ParsePart is LoadPart on bytes already read; path only names them in
// messages.
func ParsePart(path string, b []byte, tables ...string) (*Config, error) {
	for _, t := range tables {
		if t != "dom0" && t != "hooks" {
			return nil, fmt.Errorf("load config: no table %q can be validated alone", t)
		}
	}
	return parse(path, b, func(c *Config) Problems {
		var probs Problems
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
			}
		}
		return probs
	})
}
