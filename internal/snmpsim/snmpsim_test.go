package snmpsim

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// The agent serves the recording, takes a new VLAN row in the Q-BRIDGE
// subtree and reads it back, over v2c and over v3 with a context name; and
// it shows the quirks drivers must not build on.
func TestAgent(t *testing.T) {
	ag := Start(t, Options{Recording: DLink, Community: "lab", V3: []V3User{
		{Name: "op", AuthProto: "SHA", AuthKey: "auth-key-1", PrivProto: "AES", PrivKey: "priv-key-1"},
	}})
	host, port, _ := net.SplitHostPort(ag.Addr)
	p, _ := strconv.Atoi(port)
	v2 := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Version: gosnmp.Version2c, Community: "lab", Timeout: 2 * time.Second, Retries: 1}
	v3 := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Version: gosnmp.Version3, Timeout: 2 * time.Second, Retries: 1,
		SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv, ContextName: "lab",
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "op", AuthenticationProtocol: gosnmp.SHA,
			AuthenticationPassphrase: "auth-key-1", PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: "priv-key-1"}}
	for _, g := range []*gosnmp.GoSNMP{v2, v3} {
		if err := g.Connect(); err != nil {
			t.Fatal(err)
		}
		defer g.Conn.Close()
	}

	descr, err := v3.Get([]string{".1.3.6.1.2.1.1.1.0"})
	if err != nil || !strings.HasPrefix(string(descr.Variables[0].Value.([]byte)), "DES-3200-18") {
		t.Fatalf("sysDescr over v3: %v %+v", err, descr)
	}

	status, egress := ".1.3.6.1.2.1.17.7.1.4.3.1.5.77", ".1.3.6.1.2.1.17.7.1.4.3.1.2.77"
	r, err := v2.Set([]gosnmp.SnmpPDU{
		{Name: status, Type: gosnmp.Integer, Value: 4},
		{Name: egress, Type: gosnmp.OctetString, Value: []byte{0x00, 0x27, 0x00}},
	})
	if err != nil || r.Error != gosnmp.NoError || r.Variables[1].Type != gosnmp.OctetString {
		t.Fatalf("create row: %v %+v", err, r)
	}
	got, err := v3.Get([]string{status, egress})
	if err != nil {
		t.Fatal(err)
	}
	// snmpsim stores RowStatus as written: createAndGo reads back as 4.
	if got.Variables[0].Value != 4 || string(got.Variables[1].Value.([]byte)) != "\x00\x27\x00" {
		t.Fatalf("read back %+v", got.Variables)
	}

	// Outside the sql subtree a SET is answered noError with noSuchInstance.
	r, err = v2.Set([]gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.17.1.4.1.2.1", Type: gosnmp.Integer, Value: 5}})
	if err != nil || r.Error != gosnmp.NoError || r.Variables[0].Type != gosnmp.NoSuchInstance {
		t.Fatalf("set outside the subtree: %v %+v", err, r)
	}
}

func TestMissingRecording(t *testing.T) {
	if _, err := start(t, Options{Recording: "no-such-switch"}); err == nil || !strings.Contains(err.Error(), "no-such-switch") {
		t.Fatalf("err = %v", err)
	}
}
