// Package request parses the string a user writes to ask for a virtual
// cluster: Torque's `-l other=...`, Slurm's `--comment=...` or the OpenPBS
// job variable VIRTCLOUD_REQUEST. The syntax is
//
//	vcluster[:services=nfs+vpn][:image=NAME][:publish=none|tunnel|direct][:name=NAME]
//
// and the result is the lease attributes the lease server stores. The hooks'
// gate links this package for every ordinary job, so it builds its messages
// without fmt and checks character sets without regexp: fmt's and os's
// initialisers, or a regexp compiled at start-up, would cost each such job
// its init time.
package request

import (
	"errors"
	"strconv"
	"strings"
)

// Keyword starts every request string.
const Keyword = "vcluster"

// MaxLen bounds a request string: it travels in job records and lease attributes.
const MaxLen = 512

// validService and validName check the character sets by hand (see the
// package doc).
func validService(s string) bool {
	return plain(s, 32, func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' })
}

func validName(s string) bool {
	return plain(s, 63, func(c byte) bool { return isWordByte(c) || c == '.' })
}

// plain: 1..max bytes, the first a letter or digit, all allowed.
func plain(s string, max int, ok func(byte) bool) bool {
	if s == "" || len(s) > max || s[0] == '_' || s[0] == '-' || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// Is reports whether s asks for a cluster at all, well formed or not: a
// string that starts with the keyword. Any other comment belongs to the user
// and is none of the hooks' business.
func Is(s string) bool {
	s = strings.TrimSpace(s)
	return s == Keyword || strings.HasPrefix(s, Keyword+":") ||
		(strings.HasPrefix(s, Keyword) && len(s) > len(Keyword) && !isWordByte(s[len(Keyword)]))
}

func isWordByte(b byte) bool {
	return b == '_' || b == '-' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// Parse turns a request string into lease attributes. The error says which
// part is wrong and what is allowed there.
func Parse(s string) (map[string]string, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxLen {
		return nil, errors.New("request string is " + strconv.Itoa(len(s)) + " characters long; at most " + strconv.Itoa(MaxLen))
	}
	parts := strings.Split(s, ":")
	if parts[0] != Keyword {
		return nil, errors.New("request string " + strconv.Quote(s) + " must start with " + strconv.Quote(Keyword))
	}
	attrs := map[string]string{}
	for i, p := range parts[1:] {
		where := "request string " + strconv.Quote(s) + ", part " + strconv.Itoa(i+2) + " (" + strconv.Quote(p) + ")"
		key, val, ok := strings.Cut(p, "=")
		if !ok || key == "" {
			return nil, errors.New(where + ": expected key=value (services, image, publish or name)")
		}
		if _, dup := attrs[key]; dup {
			return nil, errors.New(where + ": " + key + " is given twice")
		}
		if err := checkValue(key, val); err != nil {
			return nil, errors.New(where + ": " + err.Error())
		}
		attrs[key] = val
	}
	return attrs, nil
}

func checkValue(key, val string) error {
	switch key {
	case "services":
		if val == "" {
			return errors.New("services is empty; list them joined by '+', e.g. services=nfs+vpn")
		}
		seen := map[string]bool{}
		for _, s := range strings.Split(val, "+") {
			if !validService(s) {
				return errors.New("service " + strconv.Quote(s) + ": use lowercase letters, digits, '_' and '-'")
			}
			if seen[s] {
				return errors.New("service " + strconv.Quote(s) + " is listed twice")
			}
			seen[s] = true
		}
	case "image", "name":
		if !validName(val) {
			return errors.New(key + " " + strconv.Quote(val) + ": use 1 to 63 letters, digits, '.', '_' and '-'")
		}
	case "publish":
		switch val {
		case "none", "tunnel", "direct":
		default:
			return errors.New("publish " + strconv.Quote(val) + ": must be none, tunnel or direct")
		}
	default:
		return errors.New("unknown key " + strconv.Quote(key) + " (services, image, publish or name)")
	}
	return nil
}
