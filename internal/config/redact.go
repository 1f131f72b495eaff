package config

import (
	"net/url"
	"strings"
)

// RedactURL is a URL as errors and logs may show it: a password in its
// userinfo is replaced by "xxxxx". A string that does not even parse as a
// URL loses everything between "://" and the last "@" of its authority, so
// a malformed URL cannot carry a password into a message either.
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		scheme, rest = "", raw
	}
	authority, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	user, _, _ := strings.Cut(authority[:at], ":")
	out := user + ":xxxxx" + authority[at:] + path
	if ok {
		out = scheme + "://" + out
	}
	return out
}
