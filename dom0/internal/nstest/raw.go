package nstest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Raw is an AF_PACKET socket bound to one interface of a namespace: it sends
// frames exactly as given (tags included) and receives every frame with the
// VLAN tag the kernel took off it (PACKET_AUXDATA).
type Raw struct {
	fd int
}

// Frame is a received frame: Data from the destination MAC on, and the
// outer tag the kernel stripped, if any.
type Frame struct {
	Data []byte
	VID  int // -1: the kernel stripped no tag
	TPID uint16
}

// RawSocket opens a raw socket on iface inside n.
func (n *NS) RawSocket(t testing.TB, iface string) *Raw {
	t.Helper()
	idx := n.Link(t, iface).Attrs().Index
	var fd int
	err := n.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: idx}); err != nil {
			return err
		}
		return unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1)
	})
	if err != nil {
		t.Fatalf("raw socket on %s: %v", iface, err)
	}
	r := &Raw{fd: fd}
	t.Cleanup(func() { _ = unix.Close(fd) }) // the test is over
	return r
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Send writes one frame.
func (r *Raw) Send(t testing.TB, frame []byte) {
	t.Helper()
	if _, err := unix.Write(r.fd, frame); err != nil {
		t.Fatalf("send frame: %v", err)
	}
}

// Recv returns the next frame, or ok=false after wait without one.
func (r *Raw) Recv(t testing.TB, wait time.Duration) (Frame, bool) {
	t.Helper()
	tv := unix.NsecToTimeval(wait.Nanoseconds())
	if err := unix.SetsockoptTimeval(r.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	buf, oob := make([]byte, 9000), make([]byte, 256)
	for {
		n, oobn, _, _, err := unix.Recvmsg(r.fd, buf, oob, 0)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return Frame{}, false
		}
		if err != nil {
			t.Fatalf("recv frame: %v", err)
		}
		f := Frame{Data: append([]byte(nil), buf[:n]...), VID: -1}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA || len(m.Data) < int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
				continue
			}
			aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&m.Data[0]))
			if aux.Status&unix.TP_STATUS_VLAN_VALID != 0 {
				f.VID = int(aux.Vlan_tci & 0xfff)
				f.TPID = aux.Vlan_tpid
				if f.TPID == 0 {
					f.TPID = 0x8100
				}
			}
		}
		return f, true
	}
}

// Collect reads frames containing marker until stop returns true for one of
// them or wait passes with no frame at all; it returns those frames.
func (r *Raw) Collect(t testing.TB, marker []byte, wait time.Duration, stop func(Frame) bool) []Frame {
	t.Helper()
	var out []Frame
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		f, ok := r.Recv(t, time.Until(deadline))
		if !ok {
			break
		}
		if !bytes.Contains(f.Data, marker) {
			continue
		}
		out = append(out, f)
		if stop != nil && stop(f) {
			break
		}
	}
	return out
}

// Tag is one VLAN header to put in a frame.
type Tag struct {
	TPID uint16
	VID  int
}

// EtherFrame builds a frame from src to dst with the given tags (outermost
// first) and a payload of EtherType 0x88b5 (local experimental).
func EtherFrame(dst, src net.HardwareAddr, tags []Tag, payload []byte) []byte {
	var b bytes.Buffer
	b.Write(dst)
	b.Write(src)
	for _, tg := range tags {
		b.Write(binary.BigEndian.AppendUint16(nil, tg.TPID))
		b.Write(binary.BigEndian.AppendUint16(nil, uint16(tg.VID)))
	}
	b.Write(binary.BigEndian.AppendUint16(nil, 0x88b5))
	b.Write(payload)
	for b.Len() < 60 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

// Describe prints frames for a failure message.
func Describe(fs []Frame) string {
	var b bytes.Buffer
	for _, f := range fs {
		fmt.Fprintf(&b, "[vid %d tpid %#x % x] ", f.VID, f.TPID, f.Data[:min(len(f.Data), 22)])
	}
	return b.String()
}
