package leasesrv

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/leasesrv/httpapi"
)

// principal is an authenticated caller.
type principal struct {
	name  string
	role  config.Role
	hosts []string // node tokens bound to hosts; empty means any host
	// maxTTL and maxLeases are the token's limits (maxLeases 0: none).
	maxTTL    time.Duration
	maxLeases int
	// granting serialises this token's creates while its limits are
	// checked, so concurrent requests cannot each see room for one more.
	granting *sync.Mutex
}

type authenticator struct {
	tokens []tokenHash
}

type tokenHash struct {
	sum [32]byte
	p   principal
}

func newAuthenticator(cfg *config.Config) *authenticator {
	a := &authenticator{}
	for _, t := range cfg.Tokens {
		var th tokenHash
		if !t.Secret.IsZero() {
			th.sum = sha256.Sum256([]byte(t.Secret.Reveal()))
		} else {
			b, _ := hex.DecodeString(t.SecretSHA256)
			copy(th.sum[:], b)
		}
		var hosts []string
		for _, h := range t.Hosts {
			hosts = append(hosts, cfg.HostName(h))
		}
		maxTTL, maxLeases := cfg.TokenLimits(t)
		th.p = principal{name: t.Name, role: t.Role, hosts: hosts, maxTTL: maxTTL, maxLeases: maxLeases, granting: &sync.Mutex{}}
		a.tokens = append(a.tokens, th)
	}
	return a
}

// authenticate compares the bearer token's hash with every configured one in
// constant time, so neither a match nor its position leaks through timing.
func (a *authenticator) authenticate(r *http.Request) (*principal, bool) {
	secret, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return nil, false
	}
	sum := sha256.Sum256([]byte(secret))
	var found *principal
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].sum[:]) == 1 {
			found = &a.tokens[i].p
		}
	}
	return found, found != nil
}

// bearer takes the token out of an Authorization header. The scheme is
// case-insensitive and may be followed by several spaces (RFC 7235 2.1).
func bearer(h string) (string, bool) {
	scheme, secret, ok := strings.Cut(h, " ")
	secret = strings.TrimLeft(secret, " ")
	return secret, ok && strings.EqualFold(scheme, "Bearer") && secret != ""
}

// action is what an endpoint does, for the role check.
type action int

const (
	actRead action = iota
	actWrite
	actForce
)

func (p *principal) may(a action) bool {
	switch p.role {
	case config.RoleAdmin:
		return true
	case config.RoleNode, config.RoleScheduler:
		return a != actForce
	case config.RoleViewer:
		return a == actRead
	}
	return false
}

// mayTouch reports whether a host-bound node token may act on a lease over
// these hosts: the lease must include one of the token's hosts.
func (p *principal) mayTouch(hosts []string) bool {
	if len(p.hosts) == 0 {
		return true
	}
	for _, h := range hosts {
		if slices.Contains(p.hosts, h) {
			return true
		}
	}
	return false
}

func forbidden(msg string) *httpapi.Error {
	return &httpapi.Error{Status: http.StatusForbidden, Code: api.CodeForbidden, Msg: msg}
}
