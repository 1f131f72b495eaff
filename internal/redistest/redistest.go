// Package redistest starts a private redis-server (Debian's package) for a
// test, on a unix socket in the test's temporary directory, and stops it when
// the test ends. Tests never rely on a Redis that happens to be running.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is one running redis-server.
type Server struct {
	Dir    string // its working directory (AOF, RDB, log)
	Socket string // unix socket path
	Port   int    // TCP port on 127.0.0.1, when started with TCP
	URL    string // redis:// or unix:// URL for go-redis
	cmd    *exec.Cmd
}

// Options tune the server.
type Options struct {
	TCP  bool     // also listen on 127.0.0.1 on a free port
	Args []string // extra redis-server arguments, e.g. "--appendonly", "no"
}

// Start runs a redis-server for the test and returns once it accepts
// connections.
func Start(tb testing.TB, opts ...Options) *Server {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("redis-server is not installed (scripts/deps.sh redis-server=redis-server): %v", err)
	}
	dir, err := os.MkdirTemp("", "vc-redis-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) }) // a leftover temp dir fails no test
	s := &Server{Dir: dir, Socket: filepath.Join(dir, "redis.sock")}
	args := []string{"--port", "0", "--unixsocket", s.Socket, "--unixsocketperm", "700",
		"--dir", dir, "--appendonly", "yes", "--save", "", "--logfile", filepath.Join(dir, "redis.log")}
	if o.TCP {
		s.Port = FreePort(tb)
		args[1] = strconv.Itoa(s.Port)
		args = append(args, "--bind", "127.0.0.1")
	}
	args = append(args, o.Args...)
	s.cmd = exec.Command(bin, args...)
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	tb.Cleanup(s.Stop)
	s.URL = "unix://" + s.Socket
	if o.TCP {
		s.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", s.Port)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", s.Socket); err == nil {
			ok := ping(c)
			_ = c.Close() // a probe connection
			if ok {
				return s
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			tb.Fatalf("redis-server did not start: %s", log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(c net.Conn) bool {
	_ = c.SetDeadline(time.Now().Add(time.Second))
	_, _ = fmt.Fprint(c, "PING\r\n") // a failed deadline or send fails the read below
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// Pause stops the server with SIGSTOP: it keeps its sockets but answers
// nothing, like a Redis on a full disk or behind a partition. The test's end
// resumes it before killing it.
func (s *Server) Pause(tb testing.TB) {
	tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		tb.Fatalf("SIGSTOP redis-server: %v", err)
	}
	tb.Cleanup(func() { s.Resume(tb) })
}

// Resume continues a paused server.
func (s *Server) Resume(tb testing.TB) {
	tb.Helper()
	if s.cmd != nil {
		if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			tb.Fatalf("SIGCONT redis-server: %v", err)
		}
	}
}

// Stop kills the server; safe to call twice.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill() // it may have exited already
		_ = s.cmd.Wait()         // reports the kill
		s.cmd = nil
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = l.Close() }() // held only to learn a free port
	return l.Addr().(*net.TCPAddr).Port
}
