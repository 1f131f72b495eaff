// Package config owns the one TOML file that every VirtCloud binary reads. Each
// binary uses its own tables; all of them decode the whole file, so a key that no
// part of the project knows is an error everywhere, not a silent typo.
package config

import (
	"fmt"
	"os"
	"time"

	"github.com/BurntSushi/toml"
)

// DefaultPath is where every binary looks when neither --config nor
// VIRTCLOUD_CONFIG names a file.
const DefaultPath = "/etc/virtcloud/virtcloud.toml"

// Config is the whole file.
type Config struct {
	Server   Server              `toml:"server"`
	Redis    Redis               `toml:"redis"`
	Lease    Policy              `toml:"lease"`
	Publish  Publish             `toml:"publish"`
	Sites    map[string]*Site    `toml:"sites"`
	Hosts    map[string]*Host    `toml:"hosts"`
	Tokens   []Token             `toml:"tokens"`
	Switches map[string]*Switch  `toml:"-"` // decoded with their drivers (switches.go)
	Services map[string]*Service `toml:"services"`
	Dom0     *Dom0               `toml:"dom0"`
	Hooks    *Hooks              `toml:"hooks"`

	// Path is the file the configuration was read from ("" when built in code).
	Path string `toml:"-"`
	src  []byte
	// understood: port names rewritten to their driver's form (Understood).
	understood []string
}

// Server is the lease server's own table.
type Server struct {
	Listen            string   `toml:"listen"`
	TLSCert           string   `toml:"tls_cert"`
	TLSKey            string   `toml:"tls_key"`
	ReapInterval      Duration `toml:"reap_interval"`
	MaxBodyBytes      int64    `toml:"max_body_bytes"`
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	ReadTimeout       Duration `toml:"read_timeout"`
	Parallel          int      `toml:"parallel_switches"`
	SwitchTimeout     Duration `toml:"switch_timeout"`
	AuditInterval     Duration `toml:"audit_interval"`
	// DeviceReadInterval is how old a device reading may be before GET
	// /v1/switches/{name} or GET /v1/audit reads the devices again for a
	// caller other than an admin; within it callers get the last reading
	// with its age. Admins always read now.
	DeviceReadInterval Duration `toml:"device_read_interval"`
	LogLevel           string   `toml:"log_level"`
	// StateFile keeps the store's identity and the highest fencing token
	// this server saw outside Redis, so a server started on a Redis that
	// came back empty notices it too. Empty: kept in memory only.
	StateFile string `toml:"state_file"`
}

// Redis names the store. Exactly one of URL, Sentinels or Cluster is set; the
// client type follows from which one, never from the number of addresses.
type Redis struct {
	URL              string   `toml:"url"`
	Sentinels        []string `toml:"sentinels"`
	MasterName       string   `toml:"master_name"`
	Cluster          []string `toml:"cluster"`
	Username         string   `toml:"username"`
	Password         Secret   `toml:"password"`
	SentinelPassword Secret   `toml:"sentinel_password"`
	TLS              bool     `toml:"tls"`
	// WaitReplicas makes every state change wait until this many replicas
	// acknowledged it before the API confirms it (Redis WAIT).
	WaitReplicas int      `toml:"wait_replicas"`
	WaitTimeout  Duration `toml:"wait_timeout"`
	// Timeout bounds every store call (dial, pool wait, retries and answer),
	// so a hung Redis answers fast errors well within the hooks' budget.
	Timeout Duration `toml:"timeout"`
}

// Policy bounds lease lifetimes.
type Policy struct {
	DefaultTTL       Duration `toml:"default_ttl"`
	MinTTL           Duration `toml:"min_ttl"`
	MaxTTL           Duration `toml:"max_ttl"`
	Grace            Duration `toml:"grace"`
	HoldTimeout      Duration `toml:"hold_timeout"`
	CommitTimeout    Duration `toml:"commit_timeout"`
	Quarantine       Duration `toml:"quarantine"`
	HistoryRetention Duration `toml:"history_retention"`
	MaxFailedStarts  int      `toml:"max_failed_starts"`

	// Limits by the role of the token that asks (admins have none); a
	// token's own max_ttl and max_leases replace its role's.
	NodeMaxTTL      Duration `toml:"node_max_ttl"`
	SchedulerMaxTTL Duration `toml:"scheduler_max_ttl"`
	// NodeMaxLeases bounds the live leases one host-bound node token has
	// created (nil: the default); 0 is no limit. A node token bound to no
	// host, shared by every node, is not limited unless its entry says so.
	NodeMaxLeases      *int `toml:"node_max_leases"`
	SchedulerMaxLeases int  `toml:"scheduler_max_leases"`
	// MaxLeasesPerOwner bounds the live leases of one owner (the user a
	// create names), whichever token asks; 0 is no limit.
	MaxLeasesPerOwner int `toml:"max_leases_per_owner"`
}

// DefaultNodeMaxLeases is node_max_leases when the file does not set it.
const DefaultNodeMaxLeases = 8

// Publish lists what the administrators allow to be routed directly.
type Publish struct {
	// CertifiedImages are the only images whose clusters may be published
	// directly (seed 2.1): the user's claim never counts.
	CertifiedImages []string `toml:"certified_images"`
}

// Site is one cluster site and the VLANs its administrators lend to VirtCloud.
type Site struct {
	VLANs   []string `toml:"vlans"`
	Exclude []string `toml:"exclude"`
	// RouterSwitch and RouterPort lead to the site router, for clusters
	// published directly.
	RouterSwitch string `toml:"router_switch"`
	RouterPort   string `toml:"router_port"`
	// Core names the L2 core the site's uplinks lead to. Sites on one core
	// form one L2 domain: a VLAN on the uplinks of two of them joins them.
	Core string `toml:"core"`
}

// DefaultCore is the core of every site that names none.
const DefaultCore = "default"

// Host is one hypervisor host.
type Host struct {
	Site    string   `toml:"site"`
	Aliases []string `toml:"aliases"`
	Switch  string   `toml:"switch"`
	Ports   []string `toml:"ports"`
	Port    string   `toml:"port"`
}

// TrunkPorts returns the host's switch ports, accepting the single-port form.
func (h *Host) TrunkPorts() []string {
	if h.Port != "" {
		return append([]string{h.Port}, h.Ports...)
	}
	return h.Ports
}

// Role is what a token may do.
type Role string

const (
	RoleNode      Role = "node"
	RoleScheduler Role = "scheduler"
	RoleAdmin     Role = "admin"
	RoleViewer    Role = "viewer"
)

// Token is one API credential.
type Token struct {
	Name         string   `toml:"name"`
	Secret       Secret   `toml:"secret"`
	SecretSHA256 string   `toml:"secret_sha256"`
	Role         Role     `toml:"role"`
	Hosts        []string `toml:"hosts"`
	// MaxTTL and MaxLeases replace the role's limits for this token.
	MaxTTL    Duration `toml:"max_ttl"`
	MaxLeases int      `toml:"max_leases"`
}

// Service is an infrastructure server (NFSv4, OpenVPN) that joins every cluster
// that asks for it by name.
type Service struct {
	Site   string   `toml:"site"`
	Switch string   `toml:"switch"`
	Ports  []string `toml:"ports"`
}

// Dom0 is a hypervisor host's own table.
type Dom0 struct {
	Trunk         string `toml:"trunk"`
	Mode          string `toml:"mode"`
	StateDir      string `toml:"state_dir"`
	BridgePattern string `toml:"bridge_pattern"`
	VLANPattern   string `toml:"vlan_pattern"`
	Bridge        string `toml:"bridge"`
	Server        string `toml:"server"`
	Token         Secret `toml:"token"`
	Host          string `toml:"host"`
}

// Hooks is the scheduler hooks' table.
type Hooks struct {
	Server          string   `toml:"server"`
	Token           Secret   `toml:"token"`
	Queues          []string `toml:"queues"`
	Host            string   `toml:"host"`
	Budget          Duration `toml:"budget"`
	SpoolDir        string   `toml:"spool_dir"`
	DomainSuffix    string   `toml:"domain_suffix"`
	MaxFailedStarts int      `toml:"max_failed_starts"`
}

// Duration is a time.Duration written as "90s", "1h30m".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (use forms like 90s, 15m, 2h): %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back in Go form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Load reads, defaults and validates a file. Every problem found is reported
// at once, each with file:line and key.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, b)
}

// Parse is Load on bytes already read; path only names them in messages.
func Parse(path string, b []byte) (*Config, error) {
	return parse(path, b, func(c *Config) Problems { return c.validate() })
}

// parse decodes the whole file, reports unknown keys, applies defaults and
// runs validate.
func parse(path string, b []byte, validate func(c *Config) Problems) (*Config, error) {
	f := &file{Config: Config{Path: path, src: b}}
	md, err := toml.Decode(string(b), f)
	if err != nil {
		return nil, parseError(path, err)
	}
	c := &f.Config
	probs, leftToDriver := c.decodeSwitches(&md, f.Switches)
	if len(probs) > 0 {
		return nil, probs // values of the wrong type, as a decode error of the file would be
	}
	for _, k := range md.Undecoded() {
		if len(k) > 2 && k[0] == "switches" && leftToDriver[k[1]] {
			continue
		}
		probs.add(c, k.String(), "unknown key")
	}
	c.applyDefaults()
	probs = append(probs, validate(c)...)
	if len(probs) > 0 {
		return nil, probs
	}
	return c, nil
}

func parseError(path string, err error) error {
	var pe toml.ParseError
	if asParseError(err, &pe) {
		return Problems{{File: path, Line: pe.Position.Line, Msg: pe.Message}}
	}
	return Problems{{File: path, Msg: err.Error()}}
}
