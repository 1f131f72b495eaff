package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// VLAN IDs VirtCloud may ever manage: 1 is every switch's default VLAN and 4095
// is reserved by 802.1Q.
const (
	MinVLAN = 2
	MaxVLAN = 4094
)

func (c *Config) applyDefaults() {
	setStr(&c.Server.Listen, "127.0.0.1:7480")
	setDur(&c.Server.ReapInterval, time.Second)
	setDur(&c.Server.ReadHeaderTimeout, 5*time.Second)
	setDur(&c.Server.ReadTimeout, 10*time.Second)
	setDur(&c.Server.SwitchTimeout, 10*time.Second)
	setDur(&c.Server.AuditInterval, 5*time.Minute)
	setDur(&c.Server.DeviceReadInterval, 10*time.Second)
	setStr(&c.Server.LogLevel, "info")
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = 64 << 10
	}
	if c.Server.Parallel == 0 {
		c.Server.Parallel = 16
	}
	if c.Redis.URL == "" && len(c.Redis.Sentinels) == 0 && len(c.Redis.Cluster) == 0 {
		c.Redis.URL = "redis://127.0.0.1:6379/0"
	}
	setDur(&c.Redis.WaitTimeout, time.Second)
	setDur(&c.Redis.Timeout, time.Second)
	p := &c.Lease
	setDur(&p.DefaultTTL, 4*time.Hour)
	setDur(&p.MinTTL, time.Minute)
	setDur(&p.MaxTTL, 30*24*time.Hour)
	setDur(&p.Grace, 5*time.Minute)
	setDur(&p.HoldTimeout, 2*time.Minute)
	setDur(&p.CommitTimeout, 30*time.Second)
	setDur(&p.Quarantine, time.Minute)
	setDur(&p.HistoryRetention, 7*24*time.Hour)
	if p.MaxFailedStarts == 0 {
		p.MaxFailedStarts = 3
	}
	setDur(&p.NodeMaxTTL, min(7*24*time.Hour, p.MaxTTL.Duration))
	setDur(&p.SchedulerMaxTTL, p.MaxTTL.Duration)
	if p.NodeMaxLeases == nil {
		n := DefaultNodeMaxLeases
		p.NodeMaxLeases = &n
	}
	for _, s := range c.Sites {
		setStr(&s.Core, DefaultCore)
	}
	for _, sw := range c.Switches {
		setStr(&sw.VLANName, "vc-{vid}")
		setDur(&sw.Timeout, c.Server.SwitchTimeout.Duration)
	}
	if d := c.Dom0; d != nil {
		setStr(&d.Trunk, "eth0")
		setStr(&d.Mode, "classic")
		setStr(&d.StateDir, "/run/virtcloud")
		setStr(&d.BridgePattern, "br{vid}")
		setStr(&d.VLANPattern, "{trunk}.{vid}")
		setStr(&d.Bridge, "vcbr0")
	}
	if h := c.Hooks; h != nil {
		setStr(&h.Server, "http://127.0.0.1:7480")
		setDur(&h.Budget, 60*time.Second)
		setStr(&h.SpoolDir, "/var/spool/virtcloud")
		if h.MaxFailedStarts == 0 {
			h.MaxFailedStarts = p.MaxFailedStarts
		}
	}
}

func setStr(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

func setDur(d *Duration, v time.Duration) {
	if d.Duration == 0 {
		d.Duration = v
	}
}

// plain reports whether s starts with a letter or digit, is at most max
// long, and holds only letters, digits and the extra characters. Checked by
// hand: a compiled pattern would cost every hook binary a millisecond of
// start-up, and the hooks run on every node for every job.
func plain(s, extra string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i, r := range s {
		alnum := r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		if !alnum && (i == 0 || !strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}

// validName: names of sites, hosts, switches, services and tokens travel
// into keys, URLs and device commands, so they stay plain.
func validName(s string) bool { return plain(s, "._-", 63) }

// ValidPort reports whether a switch port name (or device-side VLAN name)
// stays within the safe character set; anything else could inject a command
// into a CLI.
func ValidPort(s string) bool { return plain(s, "/:._-", 32) }

func (c *Config) validate() Problems {
	var ps Problems
	c.validateServer(&ps)
	c.validateRedis(&ps)
	c.validatePolicy(&ps)
	c.validateSites(&ps)
	c.validateSwitches(&ps)
	c.validateHosts(&ps)
	c.validateServices(&ps)
	c.validateTokens(&ps)
	c.validateDom0(&ps)
	c.validateHooks(&ps)
	return ps
}

func (c *Config) validateServer(ps *Problems) {
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		ps.add(c, "server.listen", "not a host:port address: %q", c.Server.Listen)
	}
	if c.Server.StateFile != "" && !filepath.IsAbs(c.Server.StateFile) {
		ps.add(c, "server.state_file", "must be an absolute path, not %q", c.Server.StateFile)
	}
	if (c.Server.TLSCert == "") != (c.Server.TLSKey == "") {
		ps.add(c, "server.tls_cert", "tls_cert and tls_key must be set together")
	}
	if c.Server.DeviceReadInterval.Duration < 0 {
		ps.add(c, "server.device_read_interval", "must not be negative")
	}
	if c.Server.Parallel < 1 {
		ps.add(c, "server.parallel_switches", "must be at least 1")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Server.LogLevel) {
		ps.add(c, "server.log_level", "must be debug, info, warn or error, not %q", c.Server.LogLevel)
	}
}

func (c *Config) validateRedis(ps *Problems) {
	r := c.Redis
	set := 0
	for _, b := range []bool{r.URL != "", len(r.Sentinels) > 0, len(r.Cluster) > 0} {
		if b {
			set++
		}
	}
	if set > 1 {
		ps.add(c, "redis", "set exactly one of url, sentinels or cluster")
	}
	if r.URL != "" {
		if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			ps.add(c, "redis.url", "not a redis://, rediss:// or unix:// URL")
		}
	}
	if len(r.Sentinels) > 0 && r.MasterName == "" {
		ps.add(c, "redis.master_name", "required with sentinels")
	}
	for _, a := range append(slices.Clone(r.Sentinels), r.Cluster...) {
		if _, _, err := net.SplitHostPort(a); err != nil {
			ps.add(c, "redis", "not a host:port address: %q", a)
		}
	}
	if r.WaitReplicas < 0 {
		ps.add(c, "redis.wait_replicas", "must not be negative")
	}
	if r.Timeout.Duration < 0 {
		ps.add(c, "redis.timeout", "must not be negative")
	}
}

func (c *Config) validatePolicy(ps *Problems) {
	p := c.Lease
	for key, d := range map[string]Duration{"default_ttl": p.DefaultTTL, "min_ttl": p.MinTTL, "max_ttl": p.MaxTTL,
		"grace": p.Grace, "hold_timeout": p.HoldTimeout, "commit_timeout": p.CommitTimeout,
		"quarantine": p.Quarantine, "history_retention": p.HistoryRetention} {
		if d.Duration < 0 {
			ps.add(c, "lease."+key, "must not be negative")
		}
	}
	if p.MinTTL.Duration > p.MaxTTL.Duration {
		ps.add(c, "lease.min_ttl", "min_ttl %s is above max_ttl %s", p.MinTTL, p.MaxTTL)
	}
	if p.DefaultTTL.Duration < p.MinTTL.Duration || p.DefaultTTL.Duration > p.MaxTTL.Duration {
		ps.add(c, "lease.default_ttl", "default_ttl %s is outside min_ttl %s .. max_ttl %s", p.DefaultTTL, p.MinTTL, p.MaxTTL)
	}
	if p.MaxFailedStarts < 1 {
		ps.add(c, "lease.max_failed_starts", "must be at least 1")
	}
	c.checkTTLLimit(ps, "lease.node_max_ttl", p.NodeMaxTTL)
	c.checkTTLLimit(ps, "lease.scheduler_max_ttl", p.SchedulerMaxTTL)
	for key, n := range map[string]int{"node_max_leases": *p.NodeMaxLeases, "scheduler_max_leases": p.SchedulerMaxLeases,
		"max_leases_per_owner": p.MaxLeasesPerOwner} {
		if n < 0 {
			ps.add(c, "lease."+key, "must not be negative (0 is no limit)")
		}
	}
}

// checkTTLLimit: a role's or token's longest lease lies within min_ttl ..
// max_ttl, which bound everybody.
func (c *Config) checkTTLLimit(ps *Problems, key string, d Duration) {
	if d.Duration < c.Lease.MinTTL.Duration || d.Duration > c.Lease.MaxTTL.Duration {
		ps.add(c, key, "%s is outside min_ttl %s .. max_ttl %s", d, c.Lease.MinTTL, c.Lease.MaxTTL)
	}
}

func (c *Config) validateSites(ps *Problems) {
	if len(c.Sites) == 0 {
		ps.add(c, "sites", "no site is configured")
	}
	for _, name := range sortedKeys(c.Sites) {
		key := "sites." + name
		if !validName(name) {
			ps.add(c, key, "site name %q: use letters, digits, '.', '_' and '-'", name)
		}
		s := c.Sites[name]
		if len(s.VLANs) == 0 {
			ps.add(c, key+".vlans", "no VLANs: the site's pool is empty")
			continue
		}
		pool, err := ParseVLANs(s.VLANs)
		if err != nil {
			ps.add(c, key+".vlans", "%v", err)
			continue
		}
		ex, err := ParseVLANs(s.Exclude)
		if err != nil {
			ps.add(c, key+".exclude", "%v", err)
			continue
		}
		for _, v := range ex {
			if !slices.Contains(pool, v) {
				ps.add(c, key+".exclude", "VLAN %d is not in the site's vlans", v)
			}
		}
		if len(c.SitePool(name)) == 0 {
			ps.add(c, key+".vlans", "the site's pool is empty once exclusions are taken out")
		}
		if !validName(s.Core) {
			ps.add(c, key+".core", "core name %q: use letters, digits, '.', '_' and '-'", s.Core)
		}
		if (s.RouterSwitch == "") != (s.RouterPort == "") {
			ps.add(c, key+".router_port", "router_switch and router_port must be set together")
		}
		if s.RouterSwitch != "" {
			c.checkSwitchRef(ps, key+".router_switch", s.RouterSwitch, name)
			c.checkPort(ps, key+".router_port", s.RouterSwitch, &s.RouterPort)
		}
	}
}

func (c *Config) validateHosts(ps *Problems) {
	seen := map[string]string{}
	for _, name := range sortedKeys(c.Hosts) {
		key := "hosts." + name
		h := c.Hosts[name]
		if !validName(name) {
			ps.add(c, key, "host name %q: use letters, digits, '.', '_' and '-'", name)
		}
		if h.Site == "" {
			ps.add(c, key+".site", "missing: every host belongs to a site")
		} else if c.Sites[h.Site] == nil {
			ps.add(c, key+".site", "unknown site %q", h.Site)
		}
		for _, n := range append([]string{name}, h.Aliases...) {
			n = strings.ToLower(n)
			if other, dup := seen[n]; dup {
				ps.add(c, key+".aliases", "duplicate host: %q is already host %q or one of its aliases", n, other)
			}
			seen[n] = name
		}
		if h.Switch == "" {
			if len(h.TrunkPorts()) > 0 {
				ps.add(c, key+".ports", "ports given but no switch")
			}
			continue
		}
		c.checkSwitchRef(ps, key+".switch", h.Switch, h.Site)
		if len(h.TrunkPorts()) == 0 {
			ps.add(c, key+".ports", "a host on a switch needs its trunk ports")
		}
		if h.Port != "" {
			c.checkPort(ps, key+".port", h.Switch, &h.Port)
		}
		for i := range h.Ports {
			c.checkPort(ps, key+".ports", h.Switch, &h.Ports[i])
		}
	}
}

func (c *Config) validateServices(ps *Problems) {
	for _, name := range sortedKeys(c.Services) {
		key := "services." + name
		s := c.Services[name]
		if !validName(name) {
			ps.add(c, key, "service name %q: use letters, digits, '.', '_' and '-'", name)
		}
		if c.Sites[s.Site] == nil {
			ps.add(c, key+".site", "unknown site %q", s.Site)
		}
		c.checkSwitchRef(ps, key+".switch", s.Switch, s.Site)
		if len(s.Ports) == 0 {
			ps.add(c, key+".ports", "missing")
		}
		for i := range s.Ports {
			c.checkPort(ps, key+".ports", s.Switch, &s.Ports[i])
		}
	}
}

func (c *Config) validateTokens(ps *Problems) {
	names := map[string]bool{}
	for i, t := range c.Tokens {
		key := fmt.Sprintf("tokens[%d]", i)
		if t.Name == "" {
			ps.add(c, key+".name", "missing")
		} else if names[t.Name] {
			ps.add(c, key+".name", "duplicate token name %q", t.Name)
		}
		names[t.Name] = true
		switch {
		case !t.Secret.IsZero() && t.SecretSHA256 != "":
			ps.add(c, key+".secret", "set secret or secret_sha256, not both")
		case t.Secret.IsZero() && t.SecretSHA256 == "":
			ps.add(c, key+".secret", "missing (secret or secret_sha256)")
		case !t.Secret.IsZero() && len(t.Secret.Reveal()) < 16:
			ps.add(c, key+".secret", "too short: use at least 16 characters")
		case t.SecretSHA256 != "":
			if b, err := hex.DecodeString(t.SecretSHA256); err != nil || len(b) != 32 {
				ps.add(c, key+".secret_sha256", "not 64 hex digits")
			}
		}
		switch t.Role {
		case RoleNode, RoleScheduler, RoleAdmin, RoleViewer:
		default:
			ps.add(c, key+".role", "unknown role %q (node, scheduler, admin or viewer)", t.Role)
		}
		if len(t.Hosts) > 0 && t.Role != RoleNode {
			ps.add(c, key+".hosts", "only node tokens are bound to hosts")
		}
		for _, h := range t.Hosts {
			if c.HostName(h) == "" {
				ps.add(c, key+".hosts", "unknown host %q", h)
			}
		}
		if (t.MaxTTL.Duration != 0 || t.MaxLeases != 0) && t.Role != RoleNode && t.Role != RoleScheduler {
			ps.add(c, key+".max_ttl", "only node and scheduler tokens have limits")
		}
		if t.MaxTTL.Duration != 0 {
			c.checkTTLLimit(ps, key+".max_ttl", t.MaxTTL)
		}
		if t.MaxLeases < 0 {
			ps.add(c, key+".max_leases", "must not be negative (0 is the role's limit)")
		}
	}
	c.checkSecretsDistinct(ps)
}

// checkSecretsDistinct refuses two entries that one bearer token would
// match, whether written as secret or secret_sha256: the server could not
// tell which role the caller has.
func (c *Config) checkSecretsDistinct(ps *Problems) {
	first := map[[32]byte]int{}
	for i, t := range c.Tokens {
		sum, key, ok := t.secretSum()
		if !ok {
			continue
		}
		key = fmt.Sprintf("tokens[%d].%s", i, key)
		j, dup := first[sum]
		if !dup {
			first[sum] = i
			continue
		}
		_, otherKey, _ := c.Tokens[j].secretSum()
		ps.add(c, key, "token %q has the same secret as token %q (%s): every token needs its own secret",
			t.Name, c.Tokens[j].Name, c.where(fmt.Sprintf("tokens[%d].%s", j, otherKey)))
	}
}

// secretSum is the SHA-256 a caller's bearer token must hash to, and the key
// that sets it; ok is false for an entry whose secret is missing or malformed.
func (t Token) secretSum() (sum [32]byte, key string, ok bool) {
	if !t.Secret.IsZero() {
		return sha256.Sum256([]byte(t.Secret.Reveal())), "secret", true
	}
	b, err := hex.DecodeString(t.SecretSHA256)
	if err != nil || len(b) != 32 {
		return sum, "", false
	}
	return [32]byte(b), "secret_sha256", true
}

func (c *Config) validateDom0(ps *Problems) {
	d := c.Dom0
	if d == nil {
		return
	}
	if d.Mode != "classic" && d.Mode != "vlan-aware" {
		ps.add(c, "dom0.mode", "must be \"classic\" or \"vlan-aware\", not %q", d.Mode)
	}
	if !strings.HasPrefix(d.StateDir, "/") {
		ps.add(c, "dom0.state_dir", "must be an absolute path")
	}
	for key, pat := range map[string]string{"bridge_pattern": d.BridgePattern, "vlan_pattern": d.VLANPattern} {
		name := strings.NewReplacer("{vid}", "4094", "{trunk}", d.Trunk).Replace(pat)
		if !strings.Contains(pat, "{vid}") {
			ps.add(c, "dom0."+key, "must contain {vid}")
		} else if len(name) > 15 {
			ps.add(c, "dom0."+key, "%q is longer than the kernel's 15-character limit for VLAN 4094", name)
		}
	}
}

func (c *Config) validateHooks(ps *Problems) {
	h := c.Hooks
	if h == nil {
		return
	}
	if u, err := url.Parse(h.Server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps.add(c, "hooks.server", "not an http:// or https:// URL: %q", RedactURL(h.Server))
	}
}

func (c *Config) checkSwitchRef(ps *Problems, key, sw, site string) {
	s := c.Switches[sw]
	switch {
	case s == nil:
		ps.add(c, key, "unknown switch %q", sw)
	case site != "" && s.Site != site:
		ps.add(c, key, "switch %q is in site %q, not %q", sw, s.Site, site)
	}
}

// Understood lists the port names the file writes in a form other than the
// one the driver uses, each with the form it was understood as, for
// check-config to show.
func (c *Config) Understood() []string { return c.understood }

// checkPort checks a port of switch sw and rewrites it in its driver's form
// (PortNamer).
func (c *Config) checkPort(ps *Problems, key, sw string, port *string) {
	if s := c.Switches[sw]; s != nil {
		if pn, ok := s.Settings.(PortNamer); ok {
			p, err := pn.CanonicalPort(*port)
			if err != nil {
				ps.add(c, key, "%v", err)
				return
			}
			if p != *port {
				c.understood = append(c.understood, fmt.Sprintf("%s:%d: %s: %q understood as %s", c.Path, c.lineOf(key), key, *port, p))
			}
			*port = p
		}
	}
	if !ValidPort(*port) {
		ps.add(c, key, "port name %q: use letters, digits and / : . _ -", *port)
	}
}

// ParseVLANs expands entries such as "100-199" and "250" into sorted IDs,
// refusing IDs out of range and entries that overlap.
func ParseVLANs(entries []string) ([]int, error) {
	var out []int
	seen := map[int]string{}
	for _, e := range entries {
		lo, hi, err := parseRange(e)
		if err != nil {
			return nil, err
		}
		for v := lo; v <= hi; v++ {
			if prev, dup := seen[v]; dup {
				return nil, fmt.Errorf("%q overlaps %q (VLAN %d)", e, prev, v)
			}
			seen[v] = e
			out = append(out, v)
		}
	}
	sort.Ints(out)
	return out, nil
}

func parseRange(e string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(e), "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := lo, error(nil)
	if isRange {
		hi, err2 = strconv.Atoi(strings.TrimSpace(b))
	}
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("%q is not a VLAN ID or a range like 100-199", e)
	case lo < MinVLAN || hi > MaxVLAN:
		return 0, 0, fmt.Errorf("%q is out of range: VLAN IDs run from %d to %d", e, MinVLAN, MaxVLAN)
	case lo > hi:
		return 0, 0, fmt.Errorf("%q runs backwards", e)
	}
	return lo, hi, nil
}

// SitePool is the site's allowed VLANs less its exclusions, sorted.
func (c *Config) SitePool(site string) []int {
	s := c.Sites[site]
	if s == nil {
		return nil
	}
	pool, _ := ParseVLANs(s.VLANs)
	ex, _ := ParseVLANs(s.Exclude)
	return slices.DeleteFunc(pool, func(v int) bool { return slices.Contains(ex, v) })
}

// HostName resolves a name the schedulers use (the host's own name or an alias,
// any case, with or without a domain) to its [hosts] key, or "".
func (c *Config) HostName(n string) string {
	n = strings.ToLower(n)
	for _, try := range []string{n, strings.SplitN(n, ".", 2)[0]} {
		for name, h := range c.Hosts {
			if strings.ToLower(name) == try {
				return name
			}
			for _, a := range h.Aliases {
				if strings.ToLower(a) == try {
					return name
				}
			}
		}
	}
	return ""
}

// TokenLimits are the longest lease a token may ask for (create or renew)
// and how many live leases it may have created at once (0: no limit): its
// entry's own max_ttl and max_leases, else its role's.
func (c *Config) TokenLimits(t Token) (maxTTL time.Duration, maxLeases int) {
	p := c.Lease
	switch t.Role {
	case RoleNode:
		maxTTL = p.NodeMaxTTL.Duration
		if len(t.Hosts) > 0 {
			maxLeases = *p.NodeMaxLeases
		}
	case RoleScheduler:
		maxTTL, maxLeases = p.SchedulerMaxTTL.Duration, p.SchedulerMaxLeases
	default:
		return p.MaxTTL.Duration, 0
	}
	if t.MaxTTL.Duration > 0 {
		maxTTL = t.MaxTTL.Duration
	}
	if t.MaxLeases > 0 {
		maxLeases = t.MaxLeases
	}
	return maxTTL, maxLeases
}

// PreProvisioned lists hosts with no switch: nothing is configured for them.
func (c *Config) PreProvisioned() []string {
	var out []string
	for _, name := range sortedKeys(c.Hosts) {
		if c.Hosts[name].Switch == "" {
			out = append(out, name)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Cores maps each L2 core to the sites whose uplinks lead to it, sorted.
func (c *Config) Cores() map[string][]string {
	out := map[string][]string{}
	for _, name := range sortedKeys(c.Sites) {
		core := c.Sites[name].Core
		out[core] = append(out[core], name)
	}
	return out
}
