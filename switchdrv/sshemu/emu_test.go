package sshemu

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// shell logs in with a PTY and returns a function that sends one line and
// returns what the device printed until the output contained until.
func shell(t *testing.T, e *Emulator) func(line, until string) string {
	t.Helper()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := e.WriteKnownHosts(kh); err != nil {
		t.Fatal(err)
	}
	cb, err := knownhosts.New(kh)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", e.Addr(), &ssh.ClientConfig{User: e.User(),
		Auth: []ssh.AuthMethod{ssh.Password(e.Password())}, HostKeyCallback: cb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	s.RequestPty("vt100", 24, 80, ssh.TerminalModes{})
	in, _ := s.StdinPipe()
	out, _ := s.StdoutPipe()
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	chunks := make(chan []byte, 100)
	go func() {
		for {
			b := make([]byte, 4096)
			n, err := out.Read(b)
			if n > 0 {
				chunks <- b[:n]
			}
			if err != nil {
				close(chunks)
				return
			}
		}
	}()
	var buf bytes.Buffer
	return func(line, until string) string {
		if line != "" {
			io.WriteString(in, line)
		}
		deadline := time.After(10 * time.Second)
		for !strings.Contains(buf.String(), until) {
			select {
			case b, ok := <-chunks:
				if !ok {
					t.Fatalf("session closed; got %q", buf.String())
				}
				buf.Write(b)
			case <-deadline:
				t.Fatalf("no %q in %q", until, buf.String())
			}
		}
		s := buf.String()
		buf.Reset()
		return s
	}
}

func TestIOSPagingAndErrors(t *testing.T) {
	e, err := Start(Config{Dialect: "cisco-ios"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	run := shell(t, e)
	run("", "sw1#")
	if out := run("show interfaces status\n", "--More--"); !strings.Contains(out, "Gi1/0/1 ") {
		t.Fatalf("first page: %q", out)
	}
	run(" ", "--More--")
	run("q", "sw1#")
	run("terminal length 0\n", "sw1#")
	if out := run("show interfaces status\n", "sw1#"); strings.Contains(out, "More") || !strings.Contains(out, "Gi1/0/48") {
		t.Fatalf("paged after terminal length 0: %q", out)
	}
	out := run("vlan 100\n", "sw1#")
	if !strings.Contains(out, "% Invalid input detected at '^' marker.") {
		t.Fatalf("config command in exec mode: %q", out)
	}
	run("configure terminal\n", "(config)#")
	run("interface range Gi1/0/1 - 2 , Gi1/0/5\n", "(config-if-range)#")
	run("switchport trunk allowed vlan add 100\n", "(config-if-range)#")
	if out := run("interface range Gi1/0/99\n", "(config-if-range)#"); !strings.Contains(out, "% Invalid input") {
		t.Fatalf("unknown port: %q", out)
	}
	run("end\n", "sw1#")
	// VLAN 100 does not exist yet: the trunks allow it but nothing carries it.
	for _, v := range e.VLANs() {
		if v.ID == 100 {
			t.Fatalf("VLAN 100 exists without `vlan 100`: %+v", v)
		}
	}
	e.AddVLAN(100, "x")
	for _, v := range e.VLANs() {
		if v.ID == 100 && strings.Join(v.Tagged, ",") != "Gi1/0/1,Gi1/0/2,Gi1/0/5" {
			t.Fatalf("VLAN 100: %+v", v)
		}
	}
}

func TestJunosUncommittedExitAsks(t *testing.T) {
	e, err := Start(Config{Dialect: "junos"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	run := shell(t, e)
	run("", "admin@sw1> ")
	run("configure\n", "admin@sw1# ")
	if out := run("set vlans x vlan-idd 5\n", "admin@sw1# "); !strings.Contains(out, "syntax error.") {
		t.Fatalf("%q", out)
	}
	run("set vlans x vlan-id 5\n", "admin@sw1# ")
	run("exit\n", "Exit with uncommitted changes?")
	run("no\n", "admin@sw1# ")
	run("commit\n", "commit complete")
	run("exit\n", "admin@sw1> ")
}

func TestStopRestartKeepsHostKey(t *testing.T) {
	e, err := Start(Config{Dialect: "procurve"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	line := e.KnownHostsLine()
	e.Stop()
	if err := e.Restart(); err != nil {
		t.Fatal(err)
	}
	if e.KnownHostsLine() != line {
		t.Fatal("host key changed across a restart")
	}
	run := shell(t, e)
	run("", "sw1# ")
	if e.Sessions() != 1 {
		t.Fatalf("%d sessions", e.Sessions())
	}
}
