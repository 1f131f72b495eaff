package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

func lines(s string) []string { return strings.Fields(s) }

func TestCompletionOffersCommandsFlagsJobsAndSwitches(t *testing.T) {
	f := audittest.Start(t)
	f.Srv.Activate("4711.pbs", "skirit82-1")
	f.Srv.Create("4712.pbs", "skurut9-1")
	sched := f.Srv.Client(leasetest.SchedulerToken)
	l := f.Srv.Create("4713.pbs", "konos23-1")
	if _, err := sched.Release(context.Background(), "4713.pbs", l.Token); err != nil {
		t.Fatal(err)
	}
	complete := func(token string, words ...string) string {
		t.Helper()
		args := append([]string{"vcctl", "--server", f.URL}, words...)
		if token != "" {
			args = append([]string{"vcctl", "--token", token, "--server", f.URL}, words...)
		}
		code, out, errOut := runAt(t, f.URL, token, append(args[1:], completeFlag)...)
		if code != 0 || errOut != "" {
			t.Fatalf("complete %v: %d %q", words, code, errOut)
		}
		return strings.Join(lines(out), " ")
	}
	view := leasetest.ViewerToken
	for _, c := range []struct {
		words []string
		want  string
	}{
		{nil, "lease pool store audit completion man switch"},
		{[]string{"lease"}, "list show create commit renew patch release"},
		{[]string{"lease", "show"}, "4711.pbs 4712.pbs 4713.pbs"},
		{[]string{"lease", "release"}, "4711.pbs 4712.pbs"}, // only live leases can be released
		{[]string{"lease", "release", "--for"}, "--force"},
		{[]string{"-o", "table", "lease", "commit"}, "4711.pbs 4712.pbs"},
		{[]string{"switch", "show"}, "brno-sw1 plzen-sw1 praha-sw1"},
		{[]string{"audit", "--switch"}, "brno-sw1 plzen-sw1 praha-sw1"},
		{[]string{"audit", "--"}, "--switch --fix --isolation"},
		{[]string{"--output"}, "json table"},
		{[]string{"completion"}, "bash fish zsh"},
	} {
		if got := complete(view, c.words...); got != c.want {
			t.Errorf("vcctl %s <TAB>: %q, want %q", strings.Join(c.words, " "), got, c.want)
		}
	}
	// Without a token nothing is asked of the server, and nothing offered.
	if got := complete("", "lease", "show"); got != "" {
		t.Errorf("vcctl lease show <TAB> without a token: %q, want nothing", got)
	}
}

func TestCompletionScriptsAndManPage(t *testing.T) {
	srv := leasetest.Start(t, leasetest.Options{})
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, out, _ := run(t, srv, "", "completion", sh)
		if code != 0 || !strings.Contains(out, completeFlag) || !strings.Contains(out, "vcctl") {
			t.Errorf("completion %s: %d %q", sh, code, out)
		}
	}
	if code, _, errOut := run(t, srv, "", "completion", "tcsh"); code != ExitUsage || !strings.Contains(errOut, `"tcsh" is not bash, zsh or fish`) {
		t.Errorf("completion tcsh: %d %q", code, errOut)
	}
	code, out, _ := run(t, srv, "", "man")
	if code != 0 || !strings.HasPrefix(out, ".nh\n.TH vcctl 8") {
		t.Fatalf("man: %d %q", code, out)
	}
	for _, want := range []string{"lease", "list", "--watch", "release", "--force", "pool", "switch", "audit", "--fix", "completion", "VIRTCLOUD_TOKEN"} {
		if !strings.Contains(out, want) {
			t.Errorf("the man page does not mention %q", want)
		}
	}
}

// syncBuffer is a bytes.Buffer that a running command writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func waitOutput(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never showed %q:\n%s", want, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLeaseListWatchFollowsChanges(t *testing.T) {
	srv := leasetest.Start(t, leasetest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- MainContext(ctx, []string{"vcctl", "--server", srv.URL, "--token", leasetest.ViewerToken,
			"lease", "list", "--watch", "--interval", "50ms"}, &out, &errOut)
	}()
	waitOutput(t, &out, "JOB")
	l := srv.Create("4711.pbs", "skirit82-1")
	waitOutput(t, &out, "4711.pbs")
	if _, err := srv.Client(leasetest.SchedulerToken).Release(context.Background(), "4711.pbs", l.Token); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, &out, "released")
	time.Sleep(200 * time.Millisecond) // several polls without a change
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("watch ended with %d: %s", code, errOut.String())
	}
	// Not a terminal: each changed list once, after a time stamp, and no screen control.
	if n := strings.Count(out.String(), "# "); n != 3 || strings.Contains(out.String(), "\033") {
		t.Errorf("watch wrote %d lists (want 3: empty, held, released), escapes: %v:\n%s", n, strings.Contains(out.String(), "\033"), out.String())
	}
	if code, _, errOut := run(t, srv, leasetest.ViewerToken, "lease", "list", "--watch", "--interval", "0s"); code != ExitUsage || !strings.Contains(errOut, "--interval must be positive") {
		t.Errorf("--interval 0s: %d %q", code, errOut)
	}
}

// openPTY opens a pseudo-terminal pair: what the command writes to tty, the
// test reads from pty.
func openPTY(t *testing.T) (pty, tty *os.File) {
	t.Helper()
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(pty.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(pty.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close(); pty.Close() })
	return pty, tty
}

func TestAuditProgressOnlyOnATerminal(t *testing.T) {
	f := audittest.Start(t)
	f.Srv.Activate("4711.pbs", "skirit82-1", "skurut9-1", "konos23-1")
	view := leasetest.ViewerToken

	var out, errOut bytes.Buffer
	code := Main([]string{"vcctl", "--server", f.URL, "--token", view, "audit"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "no drift: 3 switch(es)") || errOut.Len() != 0 {
		t.Fatalf("audit to a pipe: %d %q, stderr %q (want no progress there)", code, out.String(), errOut.String())
	}

	pty, tty := openPTY(t)
	seen := make(chan string)
	go func() { b, _ := io.ReadAll(pty); seen <- string(b) }()
	out.Reset()
	code = Main([]string{"vcctl", "--server", f.URL, "--token", view, "audit"}, &out, tty)
	tty.Close()
	if code != 0 || !strings.Contains(out.String(), "no drift: 3 switch(es)") {
		t.Fatalf("audit with a terminal: %d %q", code, out.String())
	}
	pty.SetReadDeadline(time.Now().Add(5 * time.Second))
	var term string
	select {
	case term = <-seen:
	case <-time.After(5 * time.Second):
		pty.Close()
		term = <-seen
	}
	for _, want := range []string{"audit: 0/3 switches", "audit: 3/3 switches (last: ", "\r\033[K"} {
		if !strings.Contains(term, want) {
			t.Errorf("the terminal never showed %q: %q", want, term)
		}
	}
	if !strings.HasSuffix(term, "\r\033[K") {
		t.Errorf("the progress line is left on the terminal: %q", term)
	}
}

func TestLeaseListWatchRedrawsATerminal(t *testing.T) {
	srv := leasetest.Start(t, leasetest.Options{})
	srv.Create("4711.pbs", "skirit82-1")
	pty, tty := openPTY(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- MainContext(ctx, []string{"vcctl", "--server", srv.URL, "--token", leasetest.ViewerToken,
			"lease", "list", "--watch", "--interval", "50ms"}, tty, io.Discard)
	}()
	var seen bytes.Buffer
	buf := make([]byte, 4096)
	pty.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !strings.Contains(seen.String(), "4711.pbs") {
		n, err := pty.Read(buf)
		if err != nil {
			t.Fatalf("reading the terminal: %v (so far %q)", err, seen.String())
		}
		seen.Write(buf[:n])
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("watch ended with %d", code)
	}
	if !strings.HasPrefix(seen.String(), "\033[H\033[2J") || !strings.Contains(seen.String(), "every 50ms") {
		t.Errorf("a terminal is not cleared and redrawn: %q", seen.String())
	}
}

func TestCommitShowsItsWaitOnATerminal(t *testing.T) {
	defer func(a time.Duration) { progressAfter = a }(progressAfter)
	progressAfter = 0 // the fabric's switches answer within a second
	f := audittest.Start(t)
	f.Srv.Create("4711.pbs", "skirit82-1", "skurut9-1")
	pty, tty := openPTY(t)
	seen := make(chan string)
	go func() { b, _ := io.ReadAll(pty); seen <- string(b) }()
	var out bytes.Buffer
	code := Main([]string{"vcctl", "--server", f.URL, "--token", leasetest.SchedulerToken, "lease", "commit", "4711.pbs"}, &out, tty)
	tty.Close()
	if code != 0 || !strings.Contains(out.String(), "active") {
		t.Fatalf("commit: %d %q", code, out.String())
	}
	pty.SetReadDeadline(time.Now().Add(5 * time.Second))
	term := <-seen
	if !strings.Contains(term, "lease commit 4711.pbs: waiting for the server: 0s") || !strings.HasSuffix(term, "\r\033[K") {
		t.Errorf("the terminal showed %q: want the wait, then the line cleared", term)
	}
}
