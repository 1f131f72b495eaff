package api

// The switch and audit endpoints: what the devices report and what the
// reconciler finds.

import "time"

// Kinds of drift (Finding.Kind).
const (
	// DriftOrphan: a VLAN in a managed range is on the device and no live
	// lease explains it there.
	DriftOrphan = "orphan"
	// DriftMissing: ports a lease's plan needs do not carry its VLAN.
	DriftMissing = "missing"
	// DriftExtra: ports carry a lease's VLAN that its plan does not need.
	DriftExtra = "extra"
)

// Switch is one configured switch, as GET /v1/switches lists it.
type Switch struct {
	Name    string   `json:"name"`
	Site    string   `json:"site"`
	Driver  string   `json:"driver"`
	Address string   `json:"address"`
	Uplinks []string `json:"uplinks"`
}

// SwitchVLANs is what a device reports, as GET /v1/switches/{name} answers.
type SwitchVLANs struct {
	Switch string `json:"switch"`
	VLANs  []VLAN `json:"vlans"`
	// ReadAt is when the device was read; AgeSeconds how long before the
	// answer (readings are shared for the server's device_read_interval).
	ReadAt     time.Time `json:"read_at"`
	AgeSeconds float64   `json:"age_seconds"`
}

// VLAN is one VLAN as a device reports it, its ports by name; the switch
// drivers return it too (switchdrv.VLAN).
type VLAN struct {
	ID       int      `json:"vlan"`
	Name     string   `json:"name"`
	Tagged   []string `json:"tagged"`
	Untagged []string `json:"untagged"`
}

// Finding is one piece of drift on one switch.
type Finding struct {
	Switch string   `json:"switch"`
	Kind   string   `json:"kind"`
	VLAN   int      `json:"vlan"`
	Ports  []string `json:"ports"`
	Lease  string   `json:"lease,omitempty"` // the job whose plan is concerned; "" for orphans
	Fixed  bool     `json:"fixed"`
	// Error says why a fix was not made (the device refused, the lease moved on).
	Error string `json:"error,omitempty"`
}

// SwitchReport is the audit of one switch.
type SwitchReport struct {
	Switch    string `json:"switch"`
	Site      string `json:"site"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"` // why it could not be read
	// InFlux are managed VLANs left alone because a lease is being committed,
	// released or migrated on them.
	InFlux   []int     `json:"in_flux,omitempty"`
	Findings []Finding `json:"findings"`
}

// AuditReport is one audit pass, as GET and POST /v1/audit answer.
type AuditReport struct {
	At time.Time `json:"at"`
	// AgeSeconds is how long before the answer the pass was made (a GET
	// answers the last pass while it is younger than device_read_interval).
	AgeSeconds float64        `json:"age_seconds"`
	Fix        bool           `json:"fix"`
	Switches   []SwitchReport `json:"switches"`
	// Counts are findings by kind, plus "unreachable" switches and "fixed"
	// findings.
	Counts map[string]int `json:"counts"`
	// Drift counts findings that remain (not fixed).
	Drift int `json:"drift"`
	// Unreachable counts switches that could not be read.
	Unreachable int `json:"unreachable"`
}

// Clean reports whether every switch answered and nothing is left to fix.
func (r *AuditReport) Clean() bool { return r.Drift == 0 && r.Unreachable == 0 }

// Problems the isolation check finds (IsolationFinding.Problem).
const (
	// IsolationShared: one L2 network holds the hosts of two live leases, or
	// of a lease and a host no lease gives that VLAN.
	IsolationShared = "shared"
	// IsolationSplit: an active lease's hosts are not all on one L2 network.
	IsolationSplit = "split"
)

// Isolation is the answer of GET /v1/audit/isolation: the L2 networks the
// switches really form, checked against the live leases.
type Isolation struct {
	At time.Time `json:"at"`
	// AgeSeconds is how long before the answer the check was made (a GET
	// by anyone but an admin may get a recent check instead of a new one).
	AgeSeconds float64            `json:"age_seconds"`
	Checked    int                `json:"checked"` // VLANs checked
	Findings   []IsolationFinding `json:"findings"`
	// Unread are the switches that could not be read: the check is then
	// incomplete, and says so.
	Unread map[string]string `json:"unread,omitempty"`
}

// IsolationFinding is one L2 network (a connected component of switches and
// cores joined by one VLAN) that breaks the isolation rule.
type IsolationFinding struct {
	VLAN    int    `json:"vlan"`
	Problem string `json:"problem"`
	// Component names the switches and cores ("core:NAME") the VLAN joins.
	Component []string `json:"component"`
	Leases    []string `json:"leases"`
	// Hosts are the hosts in the component; Strays those of no live lease
	// with this VLAN.
	Hosts  []string `json:"hosts"`
	Strays []string `json:"strays,omitempty"`
	Detail string   `json:"detail"`
}
