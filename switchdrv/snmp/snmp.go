// Package snmp is the switchdrv driver for switches that take VLAN
// membership through the Q-BRIDGE-MIB (RFC 4363) over SNMPv2c or SNMPv3.
// One change costs one GET of the VLAN row and one SET PDU holding every
// varbind of that row, whatever the number of ports; PortLists are
// read-modify-written bit by bit, so ports and bits the change does not name
// are never touched.
//
// SNMPv3 privacy names: des, aes (AES-128), aes192 and aes256 use the
// Blumenthal key localisation (draft-blumenthal-aes-usm; what net-snmp calls
// AES-192/AES-256), aes192c and aes256c the Reeder one (draft-reeder, used by
// Cisco, and what snmpsim calls AES192/AES256; its Blumenthal forms are
// AES192BLMT/AES256BLMT). The two are incompatible beyond AES-128: pick the
// one the switch documents.
package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
)

func init() {
	switchdrv.Register(switchdrv.Registration{Name: "snmp", Open: New,
		Settings: func() config.SwitchSettings { return &Config{} }})
}

// Driver speaks SNMP to one switch. Operations are serialised: gosnmp's
// session is not safe for concurrent use, and a switch takes one change at
// a time anyway.
type Driver struct {
	name    string
	log     *slog.Logger
	managed func(vid int) bool
	timeout time.Duration

	mu       sync.Mutex
	g        *gosnmp.GoSNMP
	ports    *portMap // loaded on first use, reloaded once when a name is unknown
	answered bool     // a request of the current operation was answered
	received bool     // a packet arrived during the current operation
	report   string   // OID of the last unauthenticated SNMPv3 report received
}

// New opens a driver for one [switches.NAME] table with driver = "snmp";
// cfg.Settings is a *Config. Nothing is sent until the first operation.
func New(cfg *config.Switch, opts switchdrv.Options) (switchdrv.Driver, error) {
	d := &Driver{name: opts.Name, log: opts.Logger, managed: opts.Managed, timeout: cfg.Timeout.Duration}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.managed == nil {
		d.managed = func(int) bool { return true }
	}
	if d.timeout <= 0 {
		d.timeout = switchdrv.DefaultTimeout
	}
	g, err := session(cfg)
	if err != nil {
		return nil, fmt.Errorf("switch %s: snmp: %w", opts.Name, err)
	}
	g.OnRecv = func(*gosnmp.GoSNMP) { d.received = true }
	d.g = g
	return d, nil
}

// session builds the gosnmp session the configuration describes.
func session(cfg *config.Switch) (*gosnmp.GoSNMP, error) {
	s, ok := cfg.Settings.(*Config)
	if !ok {
		return nil, fmt.Errorf("settings are %T, not *snmp.Config", cfg.Settings)
	}
	c := *s // Check fills in defaults; the caller's value stays as it was
	if err := switchdrv.CheckSettings(&c); err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		host, port = cfg.Address, "161"
	}
	if host == "" {
		return nil, fmt.Errorf("address %q: no host", cfg.Address)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("address %q: bad port", cfg.Address)
	}
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Transport: "udp", MaxOids: gosnmp.MaxOids,
		MaxRepetitions: 40}
	if c.Version == "2c" {
		g.Version, g.Community = gosnmp.Version2c, c.Community.Reveal()
		return g, nil
	}
	usm, flags := c.usm()
	g.Version, g.SecurityModel, g.MsgFlags, g.SecurityParameters = gosnmp.Version3, gosnmp.UserSecurityModel, flags, usm
	g.ContextName = c.Context
	return g, nil
}

// Close closes the socket.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.g.Conn != nil {
		err := d.g.Conn.Close()
		d.g.Conn = nil
		return err
	}
	return nil
}

// op runs one driver operation under the lock and within the configured
// timeout, turning every failure into a *switchdrv.Error.
func (d *Driver) op(ctx context.Context, vid int, f func(ctx context.Context) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	d.answered, d.received, d.report = false, false, ""
	if d.g.Conn == nil {
		if err := d.g.Connect(); err != nil {
			return &switchdrv.Error{Switch: d.name, VLAN: vid, Kind: switchdrv.NoAnswer, Err: fmt.Errorf("connect: %w", err)}
		}
		if d.g.Version == gosnmp.Version3 {
			d.g.Conn = &reportConn{Conn: d.g.Conn, d: d}
		}
	}
	d.g.Context = ctx
	// Two tries per request within the operation's deadline.
	d.g.Timeout, d.g.Retries = d.timeout/2, 1
	err := f(ctx)
	if err == nil {
		return nil
	}
	var pe *portError
	if errors.As(err, &pe) {
		return &switchdrv.Error{Switch: d.name, VLAN: vid, Port: pe.port, Kind: switchdrv.Rejected, Err: err}
	}
	k := d.kind(err)
	if k == switchdrv.CredentialsRefused && d.report != "" {
		err = fmt.Errorf("agent reported %s: %w", reportName(d.report), err)
	}
	return &switchdrv.Error{Switch: d.name, VLAN: vid, Kind: k, Err: err}
}

// kind classifies a transport or protocol failure.
func (d *Driver) kind(err error) switchdrv.Kind {
	var fe *failure
	switch {
	case errors.As(err, &fe):
		return fe.kind
	case errors.Is(err, gosnmp.ErrWrongDigest), errors.Is(err, gosnmp.ErrUnknownUsername),
		errors.Is(err, gosnmp.ErrDecryption), errors.Is(err, gosnmp.ErrUnknownSecurityLevel),
		errors.Is(err, gosnmp.ErrUnknownSecurityModels):
		// SNMPv3 report PDUs (usmStatsWrongDigests and friends), as gosnmp
		// returns them while it does not know the agent's engine ID yet.
		return switchdrv.CredentialsRefused
	case d.report != "" && !d.answered:
		// Once it knows the engine ID, gosnmp discards unauthenticated
		// reports as "not authentic"; reportConn saw them arrive.
		return switchdrv.CredentialsRefused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, gosnmp.ErrMaxRetriesExceeded), errors.Is(err, context.Canceled):
		if d.answered {
			return switchdrv.TimedOut
		}
		return switchdrv.NoAnswer
	case d.g.Version == gosnmp.Version3 && d.received && !d.answered:
		// Packets came back but none passed authentication with our keys:
		// snmpsim (pysnmp) answers a wrong auth key so, instead of with a
		// usmStatsWrongDigests report.
		return switchdrv.CredentialsRefused
	case !d.answered:
		return switchdrv.NoAnswer // ICMP port unreachable and the like
	}
	return switchdrv.BadAnswer
}

// Reports that belong to normal SNMPv3 operation (engine discovery, clock
// synchronisation) rather than to a refusal.
var routineReports = map[string]bool{
	".1.3.6.1.6.3.15.1.1.2.0": true, // usmStatsNotInTimeWindows
	".1.3.6.1.6.3.15.1.1.4.0": true, // usmStatsUnknownEngineIDs
}

var reportNames = map[string]string{
	".1.3.6.1.6.3.15.1.1.1.0": "usmStatsUnsupportedSecLevels (the user does not allow this security level)",
	".1.3.6.1.6.3.15.1.1.3.0": "usmStatsUnknownUserNames (no such user)",
	".1.3.6.1.6.3.15.1.1.5.0": "usmStatsWrongDigests (wrong auth_key or auth_protocol)",
	".1.3.6.1.6.3.15.1.1.6.0": "usmStatsDecryptionErrors (wrong priv_key or priv_protocol)",
}

func reportName(oid string) string {
	if n, ok := reportNames[oid]; ok {
		return n
	}
	return "report " + oid
}

// reportConn watches the SNMPv3 packets gosnmp receives for unauthenticated
// report PDUs, so a refusal can be told from silence: gosnmp checks each
// answer's digest with the user's key and drops these reports before its
// caller sees them.
type reportConn struct {
	net.Conn
	d *Driver
}

func (c *reportConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		if oid := unauthenticatedReport(b[:n]); oid != "" && !routineReports[oid] {
			c.d.report = oid
		}
	}
	return n, err
}

// unauthenticatedReport returns the varbind OID of a noAuthNoPriv SNMPv3
// report PDU, or "". Encrypted packets do not decode without keys: those
// are answers, not reports, and yield "".
func unauthenticatedReport(b []byte) (oid string) {
	defer func() {
		if recover() != nil {
			oid = ""
		}
	}()
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "-"}}
	p, err := dec.SnmpDecodePacket(b)
	if err != nil || p.Version != gosnmp.Version3 || p.MsgFlags&gosnmp.AuthNoPriv != 0 || p.PDUType != gosnmp.Report || len(p.Variables) != 1 {
		return ""
	}
	return p.Variables[0].Name
}

// failure is an error whose kind the driver decided itself.
type failure struct {
	kind switchdrv.Kind
	err  error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func rejected(format string, args ...any) error {
	return &failure{switchdrv.Rejected, fmt.Errorf(format, args...)}
}

func badAnswer(format string, args ...any) error {
	return &failure{switchdrv.BadAnswer, fmt.Errorf(format, args...)}
}

// get reads the OIDs in one request and checks the answer: error-status,
// and one varbind per OID, in order. Values may be noSuchObject or
// noSuchInstance; the caller decides what those mean.
func (d *Driver) get(oids []string) ([]gosnmp.SnmpPDU, error) {
	r, err := d.g.Get(oids)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	d.answered = true
	if r.Error != gosnmp.NoError {
		return nil, rejected("get: error-status %s at varbind %d", r.Error, r.ErrorIndex)
	}
	if len(r.Variables) != len(oids) {
		return nil, badAnswer("get: %d varbinds answered for %d asked", len(r.Variables), len(oids))
	}
	for i, v := range r.Variables {
		if v.Name != oids[i] {
			return nil, badAnswer("get: answer names %s where %s was asked", v.Name, oids[i])
		}
	}
	return r.Variables, nil
}

// set sends the varbinds in one PDU and checks error-status and every
// returned varbind: an agent may answer noError and still decline a varbind
// with noSuchObject or noSuchInstance (snmpsim does).
func (d *Driver) set(pdus []gosnmp.SnmpPDU) error {
	r, err := d.g.Set(pdus)
	if err != nil {
		return fmt.Errorf("set: %w", err)
	}
	d.answered = true
	if r.Error != gosnmp.NoError {
		what := ""
		if i := int(r.ErrorIndex) - 1; i >= 0 && i < len(pdus) {
			what = " (" + pdus[i].Name + ")"
		}
		return rejected("set: error-status %s at varbind %d%s", r.Error, r.ErrorIndex, what)
	}
	if len(r.Variables) != len(pdus) {
		return badAnswer("set: %d varbinds answered for %d sent", len(r.Variables), len(pdus))
	}
	for i, v := range r.Variables {
		switch {
		case v.Name != pdus[i].Name:
			return badAnswer("set: answer names %s where %s was sent", v.Name, pdus[i].Name)
		case v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.NoSuchInstance || v.Type == gosnmp.EndOfMibView:
			return rejected("set: %s answered %s", v.Name, v.Type)
		case v.Type != pdus[i].Type:
			return badAnswer("set: %s answered as %s, sent as %s", v.Name, v.Type, pdus[i].Type)
		}
	}
	return nil
}

// walk reads a subtree with GETBULK.
func (d *Driver) walk(root string) ([]gosnmp.SnmpPDU, error) {
	vs, err := d.g.BulkWalkAll(root)
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	d.answered = true
	return vs, nil
}
