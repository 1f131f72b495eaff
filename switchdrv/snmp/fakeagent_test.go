package snmp

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// fakeAgent is a small SNMP agent for what snmpsim does not model: RowStatus
// as a real switch keeps it (createAndGo makes an active row, destroy
// removes it), agents that refuse createAndGo, error-status answers,
// noSuchInstance answers to SETs, SNMPv3 report PDUs, silence to SETs, and
// a per-round-trip delay for the benchmark. It serves v2c with community
// "private"; v3 requests only get report PDUs.
type fakeAgent struct {
	addr  string
	conn  net.PacketConn
	delay atomic.Int64 // nanoseconds before each answer: a slow link

	mu   sync.Mutex
	mib  map[string]gosnmp.SnmpPDU
	keys []string           // the mib's OIDs in order, for GETNEXT
	sets [][]gosnmp.SnmpPDU // every SET PDU received, in order
	gets int                // GET, GETNEXT and GETBULK requests answered

	refuseCreateAndGo bool             // answer createAndGo with inconsistentValue
	setError          gosnmp.SNMPError // answer every SET with this error-status
	setNoSuch         bool             // answer every SET noError with noSuchInstance varbinds
	silentSets        bool             // never answer a SET
	report            string           // v3: the usmStats OID reported after discovery
}

const fakeEngineID = "\x80\x00\x1f\x88\x04fake-agent"

// startFake serves mib; configure sets the agent's behaviour before it
// starts serving.
func startFake(t testing.TB, mib []gosnmp.SnmpPDU, configure ...func(a *fakeAgent)) *fakeAgent {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAgent{addr: c.LocalAddr().String(), conn: c, mib: map[string]gosnmp.SnmpPDU{}}
	for _, v := range mib {
		a.mib[v.Name] = v
	}
	a.index()
	for _, f := range configure {
		f(a)
	}
	done := make(chan struct{})
	go func() { defer close(done); a.serve() }()
	t.Cleanup(func() { c.Close(); <-done })
	return a
}

func (a *fakeAgent) serve() {
	buf := make([]byte, 65535)
	for {
		n, from, err := a.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if out := a.handle(append([]byte(nil), buf[:n]...)); out != nil {
			time.Sleep(time.Duration(a.delay.Load()))
			a.conn.WriteTo(out, from)
		}
	}
}

func (a *fakeAgent) handle(in []byte) []byte {
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "-"}}
	req, err := dec.SnmpDecodePacket(in)
	if req == nil || req.Version == gosnmp.Version3 {
		return a.v3(req)
	}
	if err != nil || req.Community != "private" {
		return nil // agents stay silent to a wrong community
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	resp := &gosnmp.SnmpPacket{Version: req.Version, Community: req.Community, PDUType: gosnmp.GetResponse, RequestID: req.RequestID}
	switch req.PDUType {
	case gosnmp.GetRequest:
		a.gets++
		for _, v := range req.Variables {
			resp.Variables = append(resp.Variables, a.lookup(v.Name))
		}
	case gosnmp.GetNextRequest:
		a.gets++
		for _, v := range req.Variables {
			resp.Variables = append(resp.Variables, a.next(v.Name))
		}
	case gosnmp.GetBulkRequest:
		a.gets++
		oid := req.Variables[0].Name
		for range max(req.MaxRepetitions, 1) {
			v := a.next(oid)
			resp.Variables = append(resp.Variables, v)
			if v.Type == gosnmp.EndOfMibView {
				break
			}
			oid = v.Name
		}
	case gosnmp.SetRequest:
		a.sets = append(a.sets, req.Variables)
		if a.silentSets {
			return nil
		}
		resp.Error, resp.ErrorIndex, resp.Variables = a.set(req.Variables)
	default:
		return nil
	}
	out, err := resp.MarshalMsg()
	if err != nil {
		panic(err)
	}
	return out
}

// v3 answers engine discovery with the engine ID, and anything after it
// with the configured report, unauthenticated, as an agent does when the
// user's credentials do not check out.
func (a *fakeAgent) v3(req *gosnmp.SnmpPacket) []byte {
	if req == nil || a.report == "" {
		return nil
	}
	oid := ".1.3.6.1.6.3.15.1.1.4.0" // usmStatsUnknownEngineIDs
	if sp, ok := req.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok && sp.AuthoritativeEngineID == fakeEngineID {
		oid = a.report
	}
	resp := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.NoAuthNoPriv, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{AuthoritativeEngineID: fakeEngineID, AuthoritativeEngineBoots: 1, AuthoritativeEngineTime: 100},
		MsgID:              req.MsgID, MsgMaxSize: 65507, ContextEngineID: fakeEngineID, PDUType: gosnmp.Report, RequestID: req.RequestID,
		Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Counter32, Value: uint(1)}}}
	out, err := resp.MarshalMsg()
	if err != nil {
		panic(err)
	}
	return out
}

func (a *fakeAgent) lookup(oid string) gosnmp.SnmpPDU {
	if v, ok := a.mib[oid]; ok {
		return v
	}
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.NoSuchInstance}
}

func (a *fakeAgent) next(oid string) gosnmp.SnmpPDU {
	i := sort.Search(len(a.keys), func(i int) bool { return oidLess(oid, a.keys[i]) })
	if i == len(a.keys) {
		return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.EndOfMibView}
	}
	return a.mib[a.keys[i]]
}

func (a *fakeAgent) index() {
	a.keys = a.keys[:0]
	for k := range a.mib {
		a.keys = append(a.keys, k)
	}
	sort.Slice(a.keys, func(i, j int) bool { return oidLess(a.keys[i], a.keys[j]) })
}

func oidLess(a, b string) bool {
	x, y := strings.Split(strings.Trim(a, "."), "."), strings.Split(strings.Trim(b, "."), ".")
	for i := range min(len(x), len(y)) {
		p, _ := strconv.Atoi(x[i])
		q, _ := strconv.Atoi(y[i])
		if p != q {
			return p < q
		}
	}
	return len(x) < len(y)
}

// set applies a SET PDU as a whole or not at all, modelling RowStatus.
func (a *fakeAgent) set(vs []gosnmp.SnmpPDU) (gosnmp.SNMPError, uint8, []gosnmp.SnmpPDU) {
	fail := func(e gosnmp.SNMPError, i int) (gosnmp.SNMPError, uint8, []gosnmp.SnmpPDU) {
		return e, uint8(i + 1), vs
	}
	if a.setError != gosnmp.NoError {
		return fail(a.setError, 0)
	}
	if a.setNoSuch {
		var out []gosnmp.SnmpPDU
		for _, v := range vs {
			out = append(out, gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.NoSuchInstance})
		}
		return gosnmp.NoError, 0, out
	}
	next := map[string]gosnmp.SnmpPDU{}
	for k, v := range a.mib {
		next[k] = v
	}
	for i, v := range vs {
		column, vid, ok := cutLast(v.Name)
		if !ok || !strings.HasPrefix(column, oidStaticTable+".") {
			return fail(gosnmp.NotWritable, i)
		}
		exists := next[col(oidStaticRowStatus, atoi(vid))].Type == gosnmp.Integer
		if column != oidStaticRowStatus {
			if v.Type != gosnmp.OctetString {
				return fail(gosnmp.WrongType, i)
			}
			if !exists && !creates(vs) {
				return fail(gosnmp.NoCreation, i)
			}
			next[v.Name] = v
			continue
		}
		s, _ := v.Value.(int)
		switch {
		case s == createAndGo && (exists || a.refuseCreateAndGo), s == createAndWait && exists, s == active && !exists:
			return fail(gosnmp.InconsistentValue, i)
		case s == createAndGo || s == createAndWait:
			st := map[int]int{createAndGo: active, createAndWait: notReady}[s]
			next[v.Name] = gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.Integer, Value: st}
			for _, c := range []string{oidStaticName, oidStaticEgress, oidStaticUntagged} {
				if _, ok := next[col(c, atoi(vid))]; !ok {
					next[col(c, atoi(vid))] = gosnmp.SnmpPDU{Name: col(c, atoi(vid)), Type: gosnmp.OctetString, Value: []byte{}}
				}
			}
		case s == active || s == notInService:
			next[v.Name] = gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.Integer, Value: s}
		case s == destroy:
			for k := range next {
				if c, id, _ := cutLast(k); id == vid && strings.HasPrefix(c, oidStaticTable+".") {
					delete(next, k)
				}
			}
		default:
			return fail(gosnmp.WrongValue, i)
		}
	}
	a.mib = next
	a.index()
	return gosnmp.NoError, 0, vs
}

func creates(vs []gosnmp.SnmpPDU) bool {
	return slices.ContainsFunc(vs, func(v gosnmp.SnmpPDU) bool {
		s, _ := v.Value.(int)
		return strings.HasPrefix(v.Name, oidStaticRowStatus+".") && (s == createAndGo || s == createAndWait)
	})
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// setPDUs returns the SET PDUs received so far.
func (a *fakeAgent) setPDUs() [][]gosnmp.SnmpPDU {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.sets)
}

// counts returns the requests answered so far: reads and SET PDUs.
func (a *fakeAgent) counts() (gets, sets int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gets, len(a.sets)
}

func (a *fakeAgent) value(oid string) gosnmp.SnmpPDU {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lookup(oid)
}

func (a *fakeAgent) put(vs ...gosnmp.SnmpPDU) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, v := range vs {
		a.mib[v.Name] = v
	}
	a.index()
}

// readSnmprec loads a recording into varbinds (the types the recordings use).
func readSnmprec(t testing.TB, name string) []gosnmp.SnmpPDU {
	f, err := os.Open("testdata/snmprec/" + name + ".snmprec")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []gosnmp.SnmpPDU
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "|", 3)
		if len(parts) != 3 {
			t.Fatalf("%s: bad line %q", name, sc.Text())
		}
		v, err := snmprecValue(parts[1], parts[2])
		if err != nil {
			t.Fatalf("%s: %q: %v", name, sc.Text(), err)
		}
		v.Name = "." + parts[0]
		out = append(out, v)
	}
	return out
}

func snmprecValue(tag, val string) (gosnmp.SnmpPDU, error) {
	hexed := strings.HasSuffix(tag, "x")
	tag = strings.TrimSuffix(tag, "x")
	raw := []byte(val)
	if hexed {
		b, err := hex.DecodeString(val)
		if err != nil {
			return gosnmp.SnmpPDU{}, err
		}
		raw = b
	}
	switch tag {
	case "4":
		return gosnmp.SnmpPDU{Type: gosnmp.OctetString, Value: raw}, nil
	case "2":
		n, err := strconv.Atoi(val)
		return gosnmp.SnmpPDU{Type: gosnmp.Integer, Value: n}, err
	case "65", "66", "67":
		n, err := strconv.ParseUint(val, 10, 32)
		typ := map[string]gosnmp.Asn1BER{"65": gosnmp.Counter32, "66": gosnmp.Gauge32, "67": gosnmp.TimeTicks}[tag]
		return gosnmp.SnmpPDU{Type: typ, Value: uint32(n)}, err
	case "6":
		return gosnmp.SnmpPDU{Type: gosnmp.ObjectIdentifier, Value: "." + val}, nil
	case "64":
		if hexed && len(raw) == 4 {
			return gosnmp.SnmpPDU{Type: gosnmp.IPAddress, Value: net.IP(raw).String()}, nil
		}
		return gosnmp.SnmpPDU{Type: gosnmp.IPAddress, Value: val}, nil
	case "70":
		n, err := strconv.ParseUint(val, 10, 64)
		return gosnmp.SnmpPDU{Type: gosnmp.Counter64, Value: n}, err
	}
	return gosnmp.SnmpPDU{}, fmt.Errorf("snmprec tag %q not handled", tag)
}

// syntheticSwitch is a MIB of a switch with n ports: bridge port i is
// ifIndex 1000+i named "swp<i>", and VLAN 1 holds every port untagged.
func syntheticSwitch(n int) []gosnmp.SnmpPDU {
	var mib []gosnmp.SnmpPDU
	all := make(PortList, octets(n))
	for i := 1; i <= n; i++ {
		all.Set(i, true)
		mib = append(mib,
			gosnmp.SnmpPDU{Name: col(oidBasePortIfIndex, i), Type: gosnmp.Integer, Value: 1000 + i},
			gosnmp.SnmpPDU{Name: col(oidIfName, 1000+i), Type: gosnmp.OctetString, Value: []byte("swp" + strconv.Itoa(i))},
			gosnmp.SnmpPDU{Name: col(oidIfDescr, 1000+i), Type: gosnmp.OctetString, Value: []byte("port " + strconv.Itoa(i))},
		)
	}
	return append(mib,
		gosnmp.SnmpPDU{Name: col(oidStaticName, 1), Type: gosnmp.OctetString, Value: []byte("default")},
		gosnmp.SnmpPDU{Name: col(oidStaticEgress, 1), Type: gosnmp.OctetString, Value: []byte(all)},
		gosnmp.SnmpPDU{Name: col(oidStaticUntagged, 1), Type: gosnmp.OctetString, Value: []byte(all)},
		gosnmp.SnmpPDU{Name: col(oidStaticRowStatus, 1), Type: gosnmp.Integer, Value: active},
	)
}
