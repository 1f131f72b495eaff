package snmp

import (
	"fmt"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/virtcloud/virtcloud/internal/config"
)

// Config is the snmp driver's own part of a [switches.NAME] table: the SNMP
// version and how to authenticate, beside the code that applies it (the
// shared keys, address among them, are config.Switch).
type Config struct {
	Version      string        `toml:"version"` // "2c" (the default) or "3"
	Community    config.Secret `toml:"community"`
	User         string        `toml:"user"`
	AuthProtocol string        `toml:"auth_protocol"`
	AuthKey      config.Secret `toml:"auth_key"`
	PrivProtocol string        `toml:"priv_protocol"`
	PrivKey      config.Secret `toml:"priv_key"`
	Context      string        `toml:"context"`
}

// protocol is one name the configuration may give an SNMPv3 protocol.
type protocol[P any] struct {
	name  string
	proto P
}

var authProtocols = []protocol[gosnmp.SnmpV3AuthProtocol]{
	{"md5", gosnmp.MD5}, {"sha", gosnmp.SHA}, {"sha224", gosnmp.SHA224},
	{"sha256", gosnmp.SHA256}, {"sha384", gosnmp.SHA384}, {"sha512", gosnmp.SHA512},
}

var privProtocols = []protocol[gosnmp.SnmpV3PrivProtocol]{
	{"des", gosnmp.DES}, {"aes", gosnmp.AES},
	{"aes192", gosnmp.AES192}, {"aes256", gosnmp.AES256}, // Blumenthal
	{"aes192c", gosnmp.AES192C}, {"aes256c", gosnmp.AES256C}, // Reeder ("Cisco")
}

// lookup finds a protocol by name, in any case.
func lookup[P any](list []protocol[P], name string) (P, bool) {
	for _, p := range list {
		if strings.EqualFold(p.name, name) {
			return p.proto, true
		}
	}
	var none P
	return none, false
}

// names lists the protocols for a message.
func names[P any](list []protocol[P]) string {
	out := make([]string, len(list))
	for i, p := range list {
		out[i] = p.name
	}
	return strings.Join(out, ", ")
}

// Check fills in the version and reports what the agent could not accept.
func (c *Config) Check(problem func(key, format string, args ...any)) {
	if c.Version == "" {
		c.Version = "2c"
	}
	switch c.Version {
	case "2c":
		if c.Community.IsZero() {
			problem("community", "missing for SNMP v2c")
		}
	case "3":
		if c.User == "" {
			problem("user", "missing for SNMP v3")
		}
		if _, ok := lookup(authProtocols, c.AuthProtocol); c.AuthProtocol != "" && !ok {
			problem("auth_protocol", "unknown protocol %q (%s)", c.AuthProtocol, names(authProtocols))
		} else if c.AuthProtocol != "" && c.AuthKey.IsZero() {
			problem("auth_key", "missing: auth_protocol is set")
		}
		if _, ok := lookup(privProtocols, c.PrivProtocol); c.PrivProtocol != "" && !ok {
			problem("priv_protocol", "unknown protocol %q (%s)", c.PrivProtocol, names(privProtocols))
		} else if c.PrivProtocol != "" && c.AuthProtocol == "" {
			problem("priv_protocol", "needs auth_protocol: SNMPv3 has no privacy without authentication")
		} else if c.PrivProtocol != "" && c.PrivKey.IsZero() {
			problem("priv_key", "missing: priv_protocol is set")
		}
	default:
		problem("version", "must be \"2c\" or \"3\", not %q", c.Version)
	}
}

// String describes the settings for check-config.
func (c *Config) String() string {
	if c.Version != "3" {
		return "SNMPv" + c.Version + " with a community"
	}
	s := fmt.Sprintf("SNMPv3 as user %s", c.User)
	switch {
	case c.PrivProtocol != "":
		s += fmt.Sprintf(", %s authentication and %s privacy", strings.ToLower(c.AuthProtocol), strings.ToLower(c.PrivProtocol))
	case c.AuthProtocol != "":
		s += fmt.Sprintf(", %s authentication, no privacy", strings.ToLower(c.AuthProtocol))
	default:
		s += ", no authentication"
	}
	if c.Context != "" {
		s += ", context " + c.Context
	}
	return s
}

// usm is the SNMPv3 user the settings describe; Check has passed.
func (c *Config) usm() (*gosnmp.UsmSecurityParameters, gosnmp.SnmpV3MsgFlags) {
	p := &gosnmp.UsmSecurityParameters{UserName: c.User}
	flags := gosnmp.NoAuthNoPriv
	if c.AuthProtocol != "" {
		p.AuthenticationProtocol, _ = lookup(authProtocols, c.AuthProtocol)
		p.AuthenticationPassphrase = c.AuthKey.Reveal()
		flags = gosnmp.AuthNoPriv
	}
	if c.PrivProtocol != "" {
		p.PrivacyProtocol, _ = lookup(privProtocols, c.PrivProtocol)
		p.PrivacyPassphrase = c.PrivKey.Reveal()
		flags = gosnmp.AuthPriv
	}
	return p, flags
}
