// Package snmpsim starts Debian's snmpsimd for tests: a real SNMP agent on
// loopback serving one of the recorded switch walks in
// switchdrv/snmp/testdata/snmprec, with the Q-BRIDGE-MIB subtree
// (1.3.6.1.2.1.17.7) writable through snmpsim's sql variation module over
// sqlite, so VLAN rows can be created, changed and read back.
//
// Any package's tests can use it to get a switch to talk to:
//
//	ag := snmpsim.Start(t, snmpsim.Options{Recording: "arista-dcs-7150s"})
//	// ag.Addr is "127.0.0.1:PORT", community ag.Community ("private").
//
// Port names the driver accepts (ifName): the Arista has Ethernet1 to
// Ethernet52, Management1 and Port-Channel1; the D-Link 1 to 18. Recorded
// VLANs: Arista 1, 40, 41, 80, 90; D-Link 1, 40, 41, 1113; Brocade 1.
//
// snmpsim is not a real switch (RowStatus is stored as written, a SET it
// cannot honour answers noError with a noSuchInstance varbind, a wrong
// community or key gets no answer at all); test drivers' handling of those
// states elsewhere. The Debian package snmpsim must be installed (the test
// phase does it with scripts/deps.sh snmpsimd=snmpsim); Start fails the test
// with a clear message when it is missing.
package snmpsim

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Recordings of real switches shipped in the repository.
const (
	Arista  = "arista-dcs-7150s"   // Arista DCS-7150S: bridge ports != ifIndex, trimmed untagged lists
	DLink   = "dlink-des3200-18"   // D-Link DES-3200-18: small access switch
	Brocade = "brocade-icx6430-24" // Brocade ICX6430-24: PortLists that are not bitmaps
)

// V3User is one SNMPv3 USM user of the agent. Protocol names are snmpsimd's:
// auth MD5, SHA, SHA224, SHA256, SHA384, SHA512; priv DES, 3DES, AES (128),
// AES192 and AES256 (Reeder key localisation, what Cisco and gosnmp's
// AES192C/AES256C use), AES192BLMT and AES256BLMT (Blumenthal, net-snmp's
// AES-192/AES-256 and gosnmp's AES192/AES256). Empty PrivProto means
// authNoPriv.
type V3User struct {
	Name      string
	AuthProto string
	AuthKey   string
	PrivProto string
	PrivKey   string
}

// Options chooses what the agent serves.
type Options struct {
	// Recording is the base name of a file in the snmprec directory
	// (one of the constants above). Required.
	Recording string
	// Community is the SNMPv2c community, and also the SNMPv3 context name
	// that selects the data. Default "private". SNMPv3 requests with an
	// empty context name are served the same data.
	Community string
	// V3 users; none means SNMPv3 is served only to snmpsim's default user.
	V3 []V3User
}

// Agent is a running snmpsimd.
type Agent struct {
	Addr      string // 127.0.0.1:PORT (UDP)
	Community string
	// Database is the sqlite file holding the writable Q-BRIDGE subtree.
	Database string
	dir      string
}

// Dir returns the directory of the recordings inside the repository.
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("snmpsim: cannot locate the source tree")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "switchdrv", "snmp", "testdata", "snmprec")
}

// Start runs snmpsimd for the rest of the test and waits until it answers.
func Start(tb testing.TB, o Options) *Agent {
	tb.Helper()
	a, err := start(tb, o)
	if err != nil {
		tb.Fatalf("snmpsim: %v", err)
	}
	return a
}

// qbridge is the subtree served from sqlite.
const qbridge = "1.3.6.1.2.1.17.7"

func start(tb testing.TB, o Options) (*Agent, error) {
	bin, err := exec.LookPath("snmpsimd")
	if err != nil {
		return nil, fmt.Errorf("snmpsimd not found: install the Debian package snmpsim (scripts/deps.sh snmpsimd=snmpsim)")
	}
	if o.Recording == "" {
		return nil, fmt.Errorf("options: no recording named")
	}
	if o.Community == "" {
		o.Community = "private"
	}
	src := filepath.Join(Dir(), o.Recording+".snmprec")
	if _, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("recording %q: %w", o.Recording, err)
	}

	// snmpsimd refuses to run as root and drops to nobody: everything it
	// reads or writes lives in a directory tree that user can reach.
	dir, err := os.MkdirTemp("", "snmpsim-")
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) }) // a leftover temp dir fails no test
	a := &Agent{Community: o.Community, dir: dir, Database: filepath.Join(dir, "db", "qbridge.db")}
	for _, d := range []string{"data", "db", "cache"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{".", "data"} {
		if err := os.Chmod(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{"db", "cache"} {
		if err := os.Chmod(filepath.Join(dir, d), 0o777); err != nil {
			return nil, err
		}
	}
	dataFile := filepath.Join(dir, "data", o.Community+".snmprec")
	if err := prepare(src, dataFile, a.Database); err != nil {
		return nil, err
	}
	// Requests with an empty SNMPv3 context name look for this file.
	if err := os.Symlink(o.Community+".snmprec", filepath.Join(dir, "data", "1.3.6.1.6.1.1.0.snmprec")); err != nil {
		return nil, err
	}

	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	a.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := []string{
		"--data-dir=" + filepath.Join(dir, "data"),
		"--cache-dir=" + filepath.Join(dir, "cache"),
		"--agent-udpv4-endpoint=" + a.Addr,
		"--variation-modules-dir=/usr/share/snmpsim/variation",
		"--variation-module-options=sql:dbtype:sqlite3,database:" + a.Database,
		"--logging-method=file:" + filepath.Join(dir, "cache", "snmpsimd.log"),
	}
	if os.Geteuid() == 0 {
		args = append(args, "--process-user=nobody", "--process-group=nogroup")
	}
	for _, u := range o.V3 {
		args = append(args, "--v3-user="+u.Name)
		if u.AuthProto != "" {
			args = append(args, "--v3-auth-key="+u.AuthKey, "--v3-auth-proto="+u.AuthProto)
		}
		if u.PrivProto != "" {
			args = append(args, "--v3-priv-key="+u.PrivKey, "--v3-priv-proto="+u.PrivProto)
		}
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start snmpsimd: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // its exit is seen through exited
	tb.Cleanup(func() {
		_ = cmd.Process.Kill() // it may have exited already
		<-exited
	})
	if err := a.waitReady(exited); err != nil {
		return nil, fmt.Errorf("%w\nsnmpsimd output:\n%s%s", err, out.String(), a.logTail())
	}
	return a, nil
}

// waitReady polls the agent until it answers a v2c GET of sysDescr.
func (a *Agent) waitReady(exited <-chan struct{}) error {
	host, port, _ := net.SplitHostPort(a.Addr)
	p, _ := strconv.Atoi(port)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		select {
		case <-exited:
			return fmt.Errorf("snmpsimd exited before answering on %s", a.Addr)
		case <-ctx.Done():
			return fmt.Errorf("snmpsimd did not answer on %s within a minute", a.Addr)
		default:
		}
		g := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Community: a.Community, Version: gosnmp.Version2c,
			Timeout: 300 * time.Millisecond, Retries: 0, Context: ctx}
		if err := g.Connect(); err != nil {
			return err
		}
		r, err := g.Get([]string{".1.3.6.1.2.1.1.1.0"})
		_ = g.Conn.Close() // a probe connection
		if err == nil && len(r.Variables) == 1 && r.Variables[0].Type == gosnmp.OctetString {
			return nil
		}
	}
}

func (a *Agent) logTail() string {
	b, _ := os.ReadFile(filepath.Join(a.dir, "cache", "snmpsimd.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Close() }() // held only to learn a free port
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// prepare writes the data file, with the Q-BRIDGE subtree replaced by a
// reference to the sql module, and fills the sqlite table from the recording.
// Python's sqlite3 (which snmpsim itself uses) writes the database, so the
// tests need no sqlite library of their own.
func prepare(src, dataFile, db string) error {
	cmd := exec.Command("python3", "-c", prepareScript, src, dataFile, db, qbridge, "qbridge")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("prepare data: %w: %s", err, strings.TrimSpace(string(out)))
	}
	for _, f := range []string{dataFile, db} {
		if err := os.Chmod(f, 0o666); err != nil {
			return err
		}
	}
	return nil
}

// prepareScript: the sql module keys rows by the OID with every component
// right-aligned in 10 characters (see snmpsim's variation/sql.py).
const prepareScript = `
import sqlite3, sys
src, data, dbfile, subtree, table = sys.argv[1:6]
db = sqlite3.connect(dbfile)
db.execute('CREATE TABLE %s (oid text, tag text, value text, maxaccess text)' % table)
written = False
with open(src) as f, open(data, 'w') as out:
    for line in f:
        oid, tag, value = line.rstrip('\n').split('|', 2)
        if oid == subtree or oid.startswith(subtree + '.'):
            if not written:
                out.write('%s|:sql|%s\n' % (subtree, table))
                written = True
            key = '.'.join('%10s' % c for c in oid.split('.'))
            db.execute('INSERT INTO %s VALUES (?, ?, ?, ?)' % table, (key, tag, value, 'read-write'))
        else:
            out.write(line)
if not written:
    sys.exit('%s has no Q-BRIDGE-MIB subtree %s' % (src, subtree))
db.commit()
`
