package ssh

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/virtcloud/virtcloud/internal/config"
)

// portForms is a dialect's port naming: the interface types its CLI knows
// and how a name may be written. Every port name, from the configuration,
// from a change or from the device's own output, goes through Canonical
// once, so the names the driver reports are the ones it was given.
type portForms struct {
	// Types are the interface types: Full as running-config prints it,
	// Short as the driver writes and reports ports (Short + number).
	Types []portType `toml:"types"`
	// Number is the numbering after the type (a regexp, anchored).
	Number string `toml:"number"`
	// Abbrev: any unambiguous prefix of a type's full name is accepted, in
	// any case (IOS and those that copy it). Without it only Full and Short.
	Abbrev bool `toml:"abbrev"`
	// Bare: a number alone names a port (ProCurve 1, FastIron 1/1/1).
	Bare bool `toml:"bare"`
	// Exact: names are the kernel's, taken as written (Linux, SONiC).
	Exact bool `toml:"exact"`
	// Upper upper-cases the number part (ProCurve a1 is A1).
	Upper bool `toml:"upper"`
	// Strip is a suffix the CLI accepts and the driver drops (Junos ".0").
	Strip string `toml:"strip"`
	// Spaced: commands write the full type, a space and the number
	// (Force10 "TenGigabitEthernet 0/1"); otherwise the canonical name.
	Spaced bool `toml:"spaced"`

	numberRE, stripRE *regexp.Regexp
}

type portType struct {
	Full  string `toml:"full"`
	Short string `toml:"short"`
}

func (f *portForms) compile() error {
	var err error
	if f.Number == "" {
		f.Number = `\d+(?:/\d+){0,3}`
	}
	if f.numberRE, err = regexp.Compile(`^(?:` + f.Number + `)$`); err != nil {
		return fmt.Errorf("ports.number: %w", err)
	}
	if f.Strip != "" {
		if f.stripRE, err = regexp.Compile(`(?:` + f.Strip + `)$`); err != nil {
			return fmt.Errorf("ports.strip: %w", err)
		}
	}
	return nil
}

// Canonical returns the one form of a port name that the driver writes and
// reports, from any form the dialect's CLI accepts: full or abbreviated
// type, any case, a space or none before the number.
func (d *Dialect) Canonical(port string) (string, error) {
	f := &d.Ports
	s := strings.TrimSpace(port)
	if f.Exact {
		if !config.ValidPort(s) {
			return "", fmt.Errorf("port name %q: use letters, digits and / : . _ -", port)
		}
		return s, nil
	}
	if f.stripRE != nil {
		s = f.stripRE.ReplaceAllString(s, "")
	}
	i := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 0 {
		return "", d.notAPort(port, "no number")
	}
	// A module letter before the number belongs to the number (ProCurve A1).
	if f.Bare && i == 1 && len(s) > 1 {
		if f.numberRE.MatchString(s) {
			i = 0
		}
	}
	typed, num := strings.ToLower(strings.TrimSpace(s[:i])), s[i:]
	if f.Upper {
		num = strings.ToUpper(num)
	}
	if !f.numberRE.MatchString(num) {
		return "", d.notAPort(port, fmt.Sprintf("%q is not a port number here", num))
	}
	if typed == "" {
		if f.Bare && len(f.Types) > 0 {
			return f.Types[0].Short + num, nil // the first type is the bare one
		}
		if f.Bare {
			return num, nil
		}
		return "", d.notAPort(port, "no interface type")
	}
	var hits []portType
	for _, t := range f.Types {
		full, short := strings.ToLower(t.Full), strings.ToLower(t.Short)
		switch {
		case typed == full || typed == short && short != "":
			return t.Short + num, nil
		case f.Abbrev && strings.HasPrefix(full, typed):
			hits = append(hits, t)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0].Short + num, nil
	case 0:
		return "", d.notAPort(port, fmt.Sprintf("no interface type %q", strings.TrimSpace(s[:i])))
	}
	var names []string
	for _, h := range hits {
		names = append(names, h.Full)
	}
	return "", d.notAPort(port, fmt.Sprintf("%q is ambiguous: %s", strings.TrimSpace(s[:i]), strings.Join(names, " or ")))
}

func (d *Dialect) notAPort(port, why string) error {
	return fmt.Errorf("port name %q is not a %s port (%s); it takes %s", port, d.Name, why, d.PortFormsText())
}

// PortFormsText says which forms of a port name the dialect understands.
func (d *Dialect) PortFormsText() string {
	f := &d.Ports
	if f.Exact {
		return "interface names as the system prints them"
	}
	var forms []string
	for _, t := range f.Types {
		switch {
		case t.Short == "":
			forms = append(forms, t.Full+" N")
		case t.Full != t.Short:
			forms = append(forms, t.Full+"N or "+t.Short+"N")
		default:
			forms = append(forms, t.Full+"N")
		}
	}
	s := strings.Join(forms, ", ")
	if f.Bare {
		s = "N, " + s
	}
	if f.Abbrev {
		s += " (any unambiguous abbreviation, any case)"
	} else {
		s += " (any case)"
	}
	if f.Strip != "" {
		s += ", with or without " + strings.Trim(f.Strip, `\$`)
	}
	return s
}

// command writes a canonical port name as the dialect's commands take it.
func (d *Dialect) command(port string) string {
	if !d.Ports.Spaced {
		return port
	}
	for _, t := range d.Ports.Types {
		if t.Short != "" && strings.HasPrefix(port, t.Short) {
			return t.Full + " " + strings.TrimPrefix(port, t.Short)
		}
	}
	return port
}

// canonicalOrSelf is Canonical for names read from the device: a name the
// dialect does not know (a VLAN interface, a tunnel) is kept as printed.
func (d *Dialect) canonicalOrSelf(port string) string {
	if p, err := d.Canonical(port); err == nil {
		return p
	}
	return port
}
