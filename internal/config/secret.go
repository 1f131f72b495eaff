package config

import (
	"fmt"
	"log/slog"
)

// Redacted is how a Secret shows itself anywhere but through Reveal.
const Redacted = "[redacted]"

// Secret is a credential read from the configuration (an SNMP community or
// passphrase, a switch password). It prints as Redacted with every fmt verb,
// in slog and in JSON or TOML, so a logged, dumped or encoded configuration
// carries none; the code that must send the value calls Reveal.
type Secret struct{ value string }

// NewSecret wraps a value set in Go code, as tests and helpers do.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the value itself, for the one place that sends it.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether no value is set.
func (s Secret) IsZero() bool { return s.value == "" }

// UnmarshalTOML reads the value from the file, where it must be a string:
// a number there is a mistake, not a password.
func (s *Secret) UnmarshalTOML(v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("must be a string, not a TOML %T", v)
	}
	s.value = str
	return nil
}

// MarshalText writes Redacted: JSON and TOML encoders never see the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// String is Redacted.
func (s Secret) String() string { return Redacted }

// Format writes Redacted for every verb, %#v and %x included.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue is Redacted, for slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }
