package config

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const minimal = `[server]
listen = "127.0.0.1:7480"
[redis]
url = "redis://127.0.0.1:6379/0"
[sites.brno]
vlans = ["100-199", "250"]
exclude = ["150"]
[hosts.skirit82-1]
site = "brno"
aliases = ["skirit82-1.example.org"]
[[tokens]]
name = "pbs-nodes"
secret = "0123456789abcdef0123"
role = "node"
hosts = ["skirit82-1"]
`

func TestMinimalFileGetsDefaults(t *testing.T) {
	c, err := Parse("virtcloud.toml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.SitePool("brno")); n != 100 {
		t.Fatalf("brno pool has %d VLANs, want 100 (100-199 and 250, less 150)", n)
	}
	if c.Lease.DefaultTTL.Hours() != 4 || c.Lease.CommitTimeout.Seconds() != 30 || c.Server.Parallel != 16 {
		t.Fatalf("defaults: %+v %+v", c.Lease, c.Server)
	}
	if c.Lease.NodeMaxTTL.Hours() != 168 || *c.Lease.NodeMaxLeases != 8 || c.Lease.SchedulerMaxTTL.Hours() != 720 || c.Lease.MaxLeasesPerOwner != 0 {
		t.Fatalf("limits: %+v", c.Lease)
	}
	if ttl, n := c.TokenLimits(c.Tokens[0]); ttl.Hours() != 168 || n != 8 {
		t.Fatalf("a host-bound node token's limits: %s %d", ttl, n)
	}
	if c.HostName("SKIRIT82-1.example.org") != "skirit82-1" || c.HostName("skirit82-1.other.net") != "skirit82-1" {
		t.Fatal("aliases and domains do not resolve")
	}
}

func TestProblemsNameFileLineAndKey(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"unknown key", minimal + "[lease]\ndefault_tll = \"1h\"\n", "f.toml:17: lease.default_tll: unknown key"},
		{"overlap", strings.Replace(minimal, `"250"]`, `"190-260"]`, 1), `f.toml:6: sites.brno.vlans: "190-260" overlaps "100-199" (VLAN 190)`},
		{"out of range", strings.Replace(minimal, `"250"]`, `"4095"]`, 1), `f.toml:6: sites.brno.vlans: "4095" is out of range: VLAN IDs run from 2 to 4094`},
		{"vlan 1", strings.Replace(minimal, `"250"]`, `"1"]`, 1), `"1" is out of range`},
		{"exclude outside", strings.Replace(minimal, `exclude = ["150"]`, `exclude = ["300"]`, 1), "f.toml:7: sites.brno.exclude: VLAN 300 is not in the site's vlans"},
		{"empty pool", strings.Replace(minimal, `vlans = ["100-199", "250"]`, `vlans = ["150"]`, 1), "sites.brno.vlans: the site's pool is empty once exclusions are taken out"},
		{"no vlans", strings.Replace(minimal, `vlans = ["100-199", "250"]`, `vlans = []`, 1), "sites.brno.vlans: no VLANs: the site's pool is empty"},
		{"unknown site", strings.Replace(minimal, `site = "brno"`, `site = "ostrava"`, 1), `f.toml:9: hosts.skirit82-1.site: unknown site "ostrava"`},
		{"duplicate host", minimal + "[hosts.other]\nsite = \"brno\"\naliases = [\"skirit82-1.example.org\"]\n", `hosts.skirit82-1.aliases: duplicate host: "skirit82-1.example.org"`},
		{"ttl bounds", minimal + "[lease]\ndefault_ttl = \"100h\"\nmax_ttl = \"10h\"\n", "f.toml:17: lease.default_ttl: default_ttl 100h0m0s is outside min_ttl 1m0s .. max_ttl 10h0m0s"},
		{"bad duration", minimal + "[lease]\ngrace = \"soon\"\n", `not a duration`},
		{"bad role", strings.Replace(minimal, `role = "node"`, `role = "root"`, 1), `f.toml:14: tokens[0].role: unknown role "root"`},
		{"token unknown host", strings.Replace(minimal, `hosts = ["skirit82-1"]`, `hosts = ["nope"]`, 1), `f.toml:15: tokens[0].hosts: unknown host "nope"`},
		{"node ttl above max", minimal + "[lease]\nmax_ttl = \"24h\"\nnode_max_ttl = \"48h\"\n", "f.toml:18: lease.node_max_ttl: 48h0m0s is outside min_ttl 1m0s .. max_ttl 24h0m0s"},
		{"negative lease limit", minimal + "[lease]\nnode_max_leases = -1\n", "f.toml:17: lease.node_max_leases: must not be negative (0 is no limit)"},
		{"token ttl above max", strings.Replace(minimal, `role = "node"`, "role = \"node\"\nmax_ttl = \"1000h\"", 1), "f.toml:15: tokens[0].max_ttl: 1000h0m0s is outside min_ttl"},
		{"limits on an admin", strings.Replace(strings.Replace(minimal, `role = "node"`, "role = \"admin\"\nmax_leases = 3", 1), `hosts = ["skirit82-1"]`, "", 1), "tokens[0].max_ttl: only node and scheduler tokens have limits"},
		{"short secret", strings.Replace(minimal, `secret = "0123456789abcdef0123"`, `secret = "x"`, 1), "tokens[0].secret: too short"},
		{"bad listen", strings.Replace(minimal, `listen = "127.0.0.1:7480"`, `listen = "everywhere"`, 1), `f.toml:2: server.listen: not a host:port address`},
		{"two redis kinds", strings.Replace(minimal, `url = "redis://127.0.0.1:6379/0"`, "url = \"redis://x:1\"\ncluster = [\"a:1\"]", 1), "redis: set exactly one of url, sentinels or cluster"},
		{"syntax", minimal + "[sites\n", "f.toml:17: expected"},
		{"unknown switch", strings.Replace(minimal, `site = "brno"`+"\naliases", `site = "brno"`+"\nswitch = \"sw9\"\nports = [\"1\"]\naliases", 1), `hosts.skirit82-1.switch: unknown switch "sw9"`},
		{"port injection", minimal + "[switches.sw1]\nsite = \"brno\"\ndriver = \"snmp\"\naddress = \"127.0.0.1:161\"\ncommunity = \"private\"\nuplinks = [\"1; reload\"]\n", `switches.sw1.uplinks: port name "1; reload"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.toml", []byte(c.text))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want problems, got %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q in:\n%v", c.want, err)
			}
		})
	}
}

// TestDuplicateSecretsAreRefused: one bearer token matching two entries
// would let the last one decide the caller's role.
func TestDuplicateSecretsAreRefused(t *testing.T) {
	const secret = "0123456789abcdef0123" // minimal's pbs-nodes secret, tokens[0] on line 13
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(secret)))
	admin := func(key, value string) string {
		return minimal + fmt.Sprintf("[[tokens]]\nname = \"admins\"\nrole = \"admin\"\n%s = %q\n", key, value)
	}
	cases := []struct{ name, text, want string }{
		{"same secret", admin("secret", secret),
			`f.toml:19: tokens[1].secret: token "admins" has the same secret as token "pbs-nodes" (f.toml:13: tokens[0].secret)`},
		{"same sha256", strings.Replace(admin("secret_sha256", strings.ToUpper(sum)), `secret = "`+secret+`"`, `secret_sha256 = "`+sum+`"`, 1),
			`f.toml:19: tokens[1].secret_sha256: token "admins" has the same secret as token "pbs-nodes" (f.toml:13: tokens[0].secret_sha256)`},
		{"secret and its sha256", admin("secret_sha256", sum),
			`f.toml:19: tokens[1].secret_sha256: token "admins" has the same secret as token "pbs-nodes" (f.toml:13: tokens[0].secret)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.toml", []byte(c.text))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q in:\n%v", c.want, err)
			}
		})
	}
	if _, err := Parse("f.toml", []byte(admin("secret", "another-secret-0123456789"))); err != nil {
		t.Fatalf("distinct secrets refused: %v", err)
	}
}

func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	text := strings.Replace(minimal, `site = "brno"`, `site = "ostrava"`, 1) + "[lease]\nbogus = 1\n"
	_, err := Parse("f.toml", []byte(text))
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
}

func TestParseVLANs(t *testing.T) {
	v, err := ParseVLANs([]string{"10-12", "4094", " 7 "})
	if err != nil || len(v) != 5 || v[0] != 7 || v[4] != 4094 {
		t.Fatalf("%v %v", v, err)
	}
	for _, bad := range []string{"12-10", "abc", "1-", "0", "4095", "5-5000"} {
		if _, err := ParseVLANs([]string{bad}); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestShippedConfigsAreValid(t *testing.T) {
	for _, f := range []string{"../../contrib/virtcloud.toml", "../../contrib/demo/virtcloud.toml"} {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestDriverKeysAreLeftToBinariesWithDrivers: this test binary links no
// switch driver, like the hooks and vc-dom0, which read the same file; the
// drivers' own keys are theirs to check, not unknown here.
func TestDriverKeysAreLeftToBinariesWithDrivers(t *testing.T) {
	c, err := Parse("f.toml", []byte(minimal+"[switches.sw1]\nsite = \"brno\"\ndriver = \"snmp\"\naddress = \"192.0.2.10\"\ncommunity = \"private\"\nuplinks = [\"24\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sw := c.Switches["sw1"]; sw.Settings != nil || sw.Address != "192.0.2.10" || sw.VLANName != "vc-{vid}" {
		t.Fatalf("switch = %+v", sw)
	}
}
