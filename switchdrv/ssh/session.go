package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
)

// session is one interactive shell on a switch, read until its prompts.
type session struct {
	d      *Dialect
	client *xssh.Client
	sess   *xssh.Session
	stdin  io.Writer
	out    chan []byte // chunks read from the shell; closed at EOF
	buf    []byte
	broken bool // state unknown (timeout, EOF): never reuse
	// typedAhead is set while several commands are in flight: a pager then
	// eats the next command's first character, so it is an error.
	typedAhead bool
	paged      bool
	// wait is how long one command may take to end with a prompt.
	wait time.Duration
	// locs are the prompts found in buf[:scanned], which ends at a line
	// start: a long typed-ahead batch is scanned once, not at every chunk.
	locs    [][]int
	scanned int
	carry   []byte // an escape sequence cut at the end of a chunk
}

// noPrompt is a command that did not end with a prompt within its deadline:
// the device is in a mode the driver does not know, so the session is
// dropped.
type noPrompt struct {
	cmd  string
	wait time.Duration
	last string
}

func (e *noPrompt) Error() string {
	return fmt.Sprintf("command %q: no prompt within %s; last output %q", e.cmd, e.wait, e.last)
}

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// sessionError is a failure of the session (dial, login, read) with the
// driver error kind it maps to.
type sessionError struct {
	kind switchdrv.Kind
	err  error
}

func (f *sessionError) Error() string { return f.err.Error() }
func (f *sessionError) Unwrap() error { return f.err }

// handshake records how far an SSH handshake got, to classify its failure.
type handshake struct {
	hostKeyFailed bool
	authTried     bool
}

// clientConfig builds the SSH client configuration of one switch.
func clientConfig(sw *config.Switch, cfg *Config, hs *handshake) (*xssh.ClientConfig, error) {
	cc := &xssh.ClientConfig{User: cfg.Username, Timeout: sw.Timeout.Duration}
	password := func() (string, error) { hs.authTried = true; return cfg.Password.Reveal(), nil }
	if cfg.KeyFile != "" {
		b, err := os.ReadFile(cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("read key_file: %w", err)
		}
		signer, err := xssh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("key_file %s: %w", cfg.KeyFile, err)
		}
		cc.Auth = append(cc.Auth, xssh.PublicKeysCallback(func() ([]xssh.Signer, error) {
			hs.authTried = true
			return []xssh.Signer{signer}, nil
		}))
	}
	if !cfg.Password.IsZero() {
		cc.Auth = append(cc.Auth, xssh.PasswordCallback(password),
			xssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
				hs.authTried = true
				ans := make([]string, len(qs))
				for i := range qs {
					ans[i] = cfg.Password.Reveal()
				}
				return ans, nil
			}))
	}
	var check xssh.HostKeyCallback
	switch {
	case cfg.insecureIgnoreHostKey:
		check = xssh.InsecureIgnoreHostKey() // only this package's tests set it
	case cfg.KnownHosts == "":
		return nil, errors.New("known_hosts is not set: the switch's host key must be checked")
	default:
		kh, err := knownhosts.New(cfg.KnownHosts)
		if err != nil {
			return nil, fmt.Errorf("read known_hosts: %w", err)
		}
		check = kh
		algos, err := hostKeyAlgorithms(kh, sw.Address)
		if err == nil && len(algos) > 0 {
			cc.HostKeyAlgorithms = algos
		}
	}
	cc.HostKeyCallback = func(host string, remote net.Addr, key xssh.PublicKey) error {
		if err := check(host, remote, key); err != nil {
			hs.hostKeyFailed = true
			var ke *knownhosts.KeyError
			if errors.As(err, &ke) && len(ke.Want) > 0 {
				return fmt.Errorf("host key mismatch for %s: the switch presented a %s key that %s does not list for it (a changed device or an attack; update known_hosts only after checking): %w",
					host, key.Type(), cfg.KnownHosts, err)
			}
			if errors.As(err, &ke) {
				return fmt.Errorf("host %s is not in %s: add its key first: %w", host, cfg.KnownHosts, err)
			}
			return fmt.Errorf("host key of %s: %w", host, err)
		}
		return nil
	}
	return cc, nil
}

// hostKeyAlgorithms asks for the key types known_hosts holds for the address,
// so that the server presents one of them.
func hostKeyAlgorithms(kh xssh.HostKeyCallback, addr string) ([]string, error) {
	var algos []string
	err := kh(addr, &net.TCPAddr{IP: net.IPv4zero}, probeKey{})
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil, err
	}
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case xssh.KeyAlgoRSA:
			algos = append(algos, xssh.KeyAlgoRSASHA512, xssh.KeyAlgoRSASHA256, t)
		default:
			algos = append(algos, t)
		}
	}
	return algos, nil
}

// probeKey is a key no known_hosts file lists, used to read what it lists.
type probeKey struct{}

func (probeKey) Type() string                         { return "probe" }
func (probeKey) Marshal() []byte                      { return []byte("probe") }
func (probeKey) Verify([]byte, *xssh.Signature) error { return errors.New("probe") }

// dial opens the SSH connection and the shell, logs in to the privileged
// mode and turns paging off.
func dial(ctx context.Context, sw *config.Switch, cfg *Config, d *Dialect, wait time.Duration) (*session, error) {
	var hs handshake
	cc, err := clientConfig(sw, cfg, &hs)
	if err != nil {
		return nil, &sessionError{switchdrv.Rejected, err}
	}
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", sw.Address)
	if err != nil {
		return nil, &sessionError{switchdrv.NoAnswer, fmt.Errorf("connect %s: %w", sw.Address, err)}
	}
	// Closing the connection is what ends a handshake or login that hangs.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, chans, reqs, err := xssh.NewClientConn(conn, sw.Address, cc)
	if err != nil {
		_ = conn.Close() // the handshake's error is the one to report
		switch {
		case ctx.Err() != nil:
			return nil, &sessionError{switchdrv.TimedOut, fmt.Errorf("ssh handshake with %s: %w", sw.Address, err)}
		case hs.hostKeyFailed:
			return nil, &sessionError{switchdrv.CredentialsRefused, err}
		case hs.authTried:
			return nil, &sessionError{switchdrv.CredentialsRefused, fmt.Errorf("ssh login as %s refused: %w", cfg.Username, err)}
		}
		return nil, &sessionError{switchdrv.NoAnswer, fmt.Errorf("ssh handshake with %s: %w", sw.Address, err)}
	}
	client := xssh.NewClient(c, chans, reqs)
	s := &session{d: d, client: client, out: make(chan []byte, 64), wait: wait}
	if err := s.start(ctx, cfg); err != nil {
		s.close()
		if ctx.Err() != nil {
			return nil, &sessionError{switchdrv.TimedOut, fmt.Errorf("ssh login to %s: %w", sw.Address, ctx.Err())}
		}
		return nil, err
	}
	return s, nil
}

func (s *session) start(ctx context.Context, cfg *Config) error {
	sess, err := s.client.NewSession()
	if err != nil {
		return &sessionError{switchdrv.Rejected, fmt.Errorf("open ssh session: %w", err)}
	}
	s.sess = sess
	modes := xssh.TerminalModes{xssh.ECHO: 1, xssh.TTY_OP_ISPEED: 38400, xssh.TTY_OP_OSPEED: 38400}
	if err := sess.RequestPty("vt100", 0, 511, modes); err != nil {
		return &sessionError{switchdrv.Rejected, fmt.Errorf("request pty: %w", err)}
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	sess.Stderr = io.Discard
	s.stdin = stdin
	go func() {
		defer close(s.out)
		b := make([]byte, 32<<10) // one buffer; each chunk is passed on as a copy of its size
		for {
			n, err := stdout.Read(b)
			if n > 0 {
				s.out <- slices.Clone(b[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	if err := sess.Shell(); err != nil {
		return &sessionError{switchdrv.Rejected, fmt.Errorf("start shell: %w", err)}
	}
	// The login banner ends at the first prompt.
	first, err := s.read(ctx, []string{"(login)"}, 1, true)
	if err != nil {
		return err
	}
	if s.d.Enable != "" && s.d.execRE != nil && s.d.execRE.MatchString(first[0].prompt) {
		if err := s.enable(ctx, cfg.EnablePassword.Reveal()); err != nil {
			return err
		}
	}
	if len(s.d.PagingOff) > 0 {
		rs, err := s.run(ctx, s.d.PagingOff)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if line, bad := s.d.failed(r.text); bad {
				return &sessionError{switchdrv.Rejected, fmt.Errorf("turn paging off: command %q: %s", r.cmd, line)}
			}
		}
	}
	return nil
}

// enable enters the privileged mode, answering the password prompt.
func (s *session) enable(ctx context.Context, password string) error {
	if err := s.write(s.d.Enable + "\n"); err != nil {
		return err
	}
	for range 3 {
		rs, err := s.read(ctx, []string{s.d.Enable}, 1, true)
		if err != nil {
			return err
		}
		r := rs[0]
		switch {
		case r.password:
			if err := s.write(password + "\n"); err != nil {
				return err
			}
		case s.d.execRE.MatchString(r.prompt):
			return &sessionError{switchdrv.CredentialsRefused, fmt.Errorf("enable refused: %s", lastLine(r.text))}
		default:
			return nil
		}
	}
	return &sessionError{switchdrv.CredentialsRefused, errors.New("enable password refused")}
}

func lastLine(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(ls[len(ls)-1])
}

func (s *session) write(text string) error {
	if _, err := io.WriteString(s.stdin, text); err != nil {
		s.broken = true
		return &sessionError{switchdrv.NoAnswer, fmt.Errorf("send: %w", err)}
	}
	return nil
}

// result is the output of one command and the prompt that ended it.
type result struct {
	cmd, text, prompt string
	password          bool
}

// run sends commands in one write (the device reads them as typed ahead)
// and splits what comes back at the prompts: one round trip for the lot.
func (s *session) run(ctx context.Context, cmds []string) ([]result, error) {
	return s.runWithin(ctx, cmds, s.wait)
}

// runWithin is run with another deadline per command (saving, committing).
func (s *session) runWithin(ctx context.Context, cmds []string, wait time.Duration) ([]result, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	// A write that blocks (the device stopped reading) ends with the session.
	stop := context.AfterFunc(ctx, func() { s.close() })
	defer stop()
	if err := s.write(strings.Join(cmds, "\n") + "\n"); err != nil {
		if ctx.Err() != nil {
			return nil, &sessionError{switchdrv.TimedOut, fmt.Errorf("send: %w", ctx.Err())}
		}
		return nil, err
	}
	s.typedAhead = len(cmds) > 1
	old := s.wait
	s.wait = wait
	rs, err := s.read(ctx, cmds, len(cmds), false)
	s.wait, s.typedAhead = old, false
	if err != nil {
		return nil, err
	}
	out := make([]result, len(rs))
	for i, r := range rs {
		// The first line is the device's echo of the command.
		_, text, _ := strings.Cut(r.text, "\n")
		out[i] = result{cmd: cmds[i], text: text, prompt: r.prompt}
	}
	return out, nil
}

// read collects output until n prompts have arrived, the last one at the
// end of what the device sent. With single set, a password prompt counts
// too. Each of cmds (what was typed, for messages) gets s.wait to end
// with its prompt, counted from the previous prompt.
func (s *session) read(ctx context.Context, cmds []string, n int, single bool) ([]result, error) {
	timer := time.NewTimer(s.wait)
	defer timer.Stop()
	seen := 0
	for {
		if s.paged {
			s.broken = true
			return nil, &sessionError{switchdrv.BadAnswer, errors.New("the switch paged its output in the middle of a batch (paging_off did not take effect)")}
		}
		rs, ok, k := s.split(n, single)
		if ok {
			return rs, nil
		}
		if k > seen {
			seen = k
			timer.Reset(s.wait)
		}
		select {
		case b, ok := <-s.out:
			if !ok && ctx.Err() != nil {
				s.broken = true
				return nil, &sessionError{switchdrv.TimedOut, fmt.Errorf("waiting for the prompt (last output %q): %w", tail(s.buf), ctx.Err())}
			}
			if !ok {
				s.broken = true
				return nil, &sessionError{switchdrv.BadAnswer, fmt.Errorf("the switch closed the session; it last sent %q", tail(s.buf))}
			}
			s.add(b)
		case <-timer.C:
			s.broken = true
			return nil, &sessionError{switchdrv.TimedOut, &noPrompt{cmd: s.unprompted(cmds, seen), wait: s.wait, last: tail(s.buf)}}
		case <-ctx.Done():
			s.broken = true
			return nil, &sessionError{switchdrv.TimedOut, fmt.Errorf("waiting for the prompt (last output %q): %w", tail(s.buf), ctx.Err())}
		}
	}
}

// unprompted finds the command that no prompt followed. Typed ahead, later
// commands may have answered with theirs: the one whose output runs into
// the next command's echo is the one.
func (s *session) unprompted(cmds []string, seen int) string {
	text := string(s.buf)
	locs := s.d.prompts.findAll(text)
	start := 0
	for i := 0; i+1 < len(cmds); i++ {
		end := len(text)
		if i < len(locs) {
			end = locs[i][0]
		}
		seg := text[start:end]
		if _, rest, ok := strings.Cut(seg, "\n"); ok && lineStarts(rest, cmds[i+1]) {
			return cmds[i]
		}
		if i >= len(locs) {
			break
		}
		start = locs[i][1]
	}
	return cmds[min(seen, len(cmds)-1)]
}

// lineStarts reports whether a line of text is exactly cmd (an echo).
func lineStarts(text, cmd string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == cmd {
			return true
		}
	}
	return false
}

func tail(b []byte) string {
	return string(b[max(0, len(b)-120):])
}

// clean drops terminal noise and answers the pager.
func (s *session) add(chunk []byte) {
	b := append(s.carry, chunk...)
	s.carry = nil
	if i := bytes.LastIndexByte(b, 0x1b); i >= 0 && len(b)-i < 16 && !ansiRE.Match(b[i:]) {
		s.carry, b = slices.Clone(b[i:]), b[:i]
	}
	b = ansiRE.ReplaceAll(b, nil)
	b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r"), nil), []byte("\b"), nil)
	old := len(s.buf)
	s.buf = append(s.buf, b...)
	if s.d.moreRE == nil {
		return
	}
	from := max(0, old-128) // a pager prompt cut between two chunks
	if s.d.moreLit != "" && !bytes.Contains(s.buf[from:], []byte(s.d.moreLit)) {
		return // the pattern cannot match: no need to run it over the output
	}
	if loc := s.d.moreRE.FindIndex(s.buf[from:]); loc != nil {
		s.buf = append(s.buf[:from+loc[0]], s.buf[from+loc[1]:]...)
		s.locs, s.scanned = nil, 0 // the text moved
		if s.typedAhead {
			s.paged = true
		} else {
			// A failed send marks the session broken and the device then
			// sends nothing more: the wait for the prompt times out and says so.
			_ = s.write(" ")
		}
	}
}

// prompts returns every prompt in the buffer (text, as a string),
// scanning only what is new.
func (s *session) prompts(text string) [][]int {
	from := s.scanned
	all := slices.Clone(s.locs)
	for _, l := range s.d.prompts.findAll(text[from:]) {
		all = append(all, []int{from + l[0], from + l[1]})
	}
	// Prompts on the last line may still grow: they are found again.
	last := max(from, bytes.LastIndexByte(s.buf, '\n')+1)
	keep := len(all)
	for keep > 0 && all[keep-1][0] >= last {
		keep--
	}
	s.locs, s.scanned = all[:keep:keep], last
	return all
}

// reset empties the buffer.
func (s *session) reset() {
	s.buf, s.locs, s.scanned = nil, nil, 0
}

// split cuts the buffer at prompts once n of them are there and nothing
// follows the last one; seen counts the prompts so far.
func (s *session) split(n int, single bool) (rs []result, ok bool, seen int) {
	text := string(s.buf)
	if single && s.d.passwordRE != nil {
		if loc := s.d.passwordRE.FindStringIndex(text); loc != nil && strings.TrimSpace(text[loc[1]:]) == "" {
			s.reset()
			return []result{{text: text[:loc[0]], password: true}}, true, 0
		}
	}
	locs := s.prompts(text)
	if len(locs) < n {
		return nil, false, len(locs)
	}
	if len(locs) > n {
		locs = locs[len(locs)-n:]
	}
	end := locs[n-1]
	if strings.TrimSpace(text[end[1]:]) != "" {
		return nil, false, len(locs)
	}
	rs = make([]result, n)
	start := 0
	for i, loc := range locs {
		rs[i] = result{text: text[start:loc[0]], prompt: strings.TrimSpace(text[loc[0]:loc[1]])}
		start = loc[1]
	}
	s.reset()
	return rs, true, n
}

// close ends the connection; safe to call more than once and from the
// context's AfterFunc.
func (s *session) close() {
	_ = s.client.Close() // nothing was pending; a second close reports one already done
}

// drain discards what an idle session printed (log messages) and reports
// whether the device still has it open.
func (s *session) drain() bool {
	for {
		select {
		case _, ok := <-s.out:
			if !ok {
				return false
			}
		default:
			s.reset()
			return true
		}
	}
}
