// Package sshemu is an SSH switch emulator for tests: an SSH server on
// loopback that models the CLIs the ssh driver speaks (Cisco IOS, Arista
// EOS, HP ProCurve, Juniper Junos, a Linux bridge shell) with their modes,
// prompts, paging, VLAN tables, port modes and the error messages real
// devices print. Its state can be read and set from Go, failures injected,
// and the daemon stopped and started. In exec mode the Linux bridge shell
// runs each command line for real (with /bin/sh, optionally in a network
// namespace), so the driver can be tested against a real kernel bridge.
package sshemu

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/virtcloud/virtcloud/switchdrv"
)

// Config describes one emulated switch.
type Config struct {
	Dialect  string // cisco-ios, arista-eos, procurve, junos, linux-bridge
	Hostname string // default "sw1"
	User     string // default "admin"
	Password string // default "secret"
	// EnablePassword, when set, makes IOS and EOS log in to the unprivileged
	// mode (">") and ask for it on `enable`.
	EnablePassword string
	// AuthorizedKey, when set, is accepted for public key login.
	AuthorizedKey ssh.PublicKey
	// Ports are the switch's port names; the default depends on the dialect
	// (Gi1/0/1-48, Et1-48, 1-48, ge-0/0/0-47, swp1-48). IOS, EOS and Junos
	// ports start as trunks allowing only VLAN 1; ProCurve and Linux ports
	// are untagged in VLAN 1.
	Ports []string
	// Delay is added to every round trip (to data from the client).
	Delay time.Duration
	// Exec makes the Linux bridge shell run each command line for real:
	// argv prefix, the line is appended, e.g. {"/bin/sh", "-c"} or
	// {"ip", "netns", "exec", "sw1", "/bin/sh", "-c"}.
	Exec []string
	// Refuse lists commands the device does not have, by their leading
	// words: it answers them as any command it does not know. Many IOS
	// releases (routers with switch modules, older Catalysts) have no `show
	// interfaces status`, `show interfaces trunk` or `interface range`.
	Refuse []string
	// NoPromptAfterGlobal: a global configuration command typed in an
	// interface or VLAN sub-mode still runs, but no prompt follows it.
	NoPromptAfterGlobal bool
	// Listen is the address to listen on (default 127.0.0.1:0); a testbed
	// running the emulator inside a network namespace passes that
	// namespace's address.
	Listen string
	Logger *slog.Logger
}

// Emulator is one running emulated switch.
type Emulator struct {
	cfg    Config
	signer ssh.Signer
	addr   string
	log    *slog.Logger

	mu         sync.Mutex
	ln         net.Listener
	conns      map[net.Conn]bool
	dev        device
	sessions   int
	logins     int
	commands   []string // the last commandLog command lines
	transcript []string // the same with prompts and answers
	issued     int      // command lines received since the start
	failAt     int      // fail the failAt-th command line (counted in issued)
	failMsg    string
	failPorts  map[string]bool
	hangAt     map[int]bool // print no prompt after these command lines
	refuseAuth bool
	wg         sync.WaitGroup
}

// device is the per-dialect model behind the CLI.
type device interface {
	prompt(c *cli) string
	run(c *cli, line string) (out string, quit bool)
	table() []switchdrv.VLAN
	portMode(port string) (string, bool)
	setPortMode(port, mode string) error
	addVLAN(vid int, name string, tagged []string) error
	// portError is what the device prints for a command naming a port it
	// cannot use; genericError for a command it does not understand.
	portError(c *cli, line, port string) string
	genericError(c *cli, line string) string
}

// Start starts an emulator, by default on 127.0.0.1 on a free port.
func Start(cfg Config) (*Emulator, error) {
	if cfg.Hostname == "" {
		cfg.Hostname = "sw1"
	}
	if cfg.User == "" {
		cfg.User = "admin"
	}
	if cfg.Password == "" {
		cfg.Password = "secret"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Emulator{cfg: cfg, conns: map[net.Conn]bool{}, failPorts: map[string]bool{}, log: cfg.Logger.With("emulator", cfg.Dialect)}
	var err error
	if e.dev, err = newDevice(&e.cfg); err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if e.signer, err = ssh.NewSignerFromKey(priv); err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if err := e.listen(cfg.Listen); err != nil {
		return nil, err
	}
	return e, nil
}

func newDevice(cfg *Config) (device, error) {
	switch cfg.Dialect {
	case "cisco-ios":
		return newIOS(cfg, false, false), nil
	case "arista-eos":
		return newIOS(cfg, true, false), nil
	case "cisco-nxos":
		return newIOS(cfg, false, true), nil
	case "huawei-vrp":
		return newVRP(cfg, false), nil
	case "comware":
		return newVRP(cfg, true), nil
	case "brocade-fastiron":
		return newFastIron(cfg), nil
	case "sonic":
		return newSONiC(cfg), nil
	case "dell-os10":
		return newOS10(cfg), nil
	case "dell-os9":
		return newOS9(cfg), nil
	case "mellanox-onyx":
		return newOnyx(cfg), nil
	case "dell-powerconnect":
		return newPowerConnect(cfg), nil
	case "cumulus-nvue":
		return newNVUE(cfg), nil
	case "procurve":
		return newProCurve(cfg), nil
	case "junos":
		return newJunos(cfg), nil
	case "linux-bridge":
		return newLinux(cfg), nil
	}
	return nil, fmt.Errorf("sshemu: unknown dialect %q", cfg.Dialect)
}

func (e *Emulator) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sshemu: listen: %w", err)
	}
	e.mu.Lock()
	e.ln, e.addr = ln, ln.Addr().String()
	e.mu.Unlock()
	e.wg.Add(1)
	go e.serve(ln)
	return nil
}

// Addr is host:port of the SSH daemon.
func (e *Emulator) Addr() string { return e.addr }

// User and Password are the login credentials.
func (e *Emulator) User() string     { return e.cfg.User }
func (e *Emulator) Password() string { return e.cfg.Password }

// HostKey is the daemon's public host key (kept across Stop and Restart).
func (e *Emulator) HostKey() ssh.PublicKey { return e.signer.PublicKey() }

// KnownHostsLine is the known_hosts line for this daemon.
func (e *Emulator) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(e.addr)}, e.signer.PublicKey())
}

// WriteKnownHosts writes a known_hosts file holding only this daemon's key.
func (e *Emulator) WriteKnownHosts(path string) error {
	return os.WriteFile(path, []byte(e.KnownHostsLine()+"\n"), 0o600)
}

// Stop closes the listener and every connection, as if sshd went down.
func (e *Emulator) Stop() {
	e.mu.Lock()
	ln := e.ln
	e.ln = nil
	for c := range e.conns {
		_ = c.Close() // going down: the client sees the connection end
	}
	e.mu.Unlock()
	if ln != nil {
		_ = ln.Close() // going down
	}
	e.wg.Wait()
}

// Restart listens again on the same address with the same host key.
func (e *Emulator) Restart() error {
	e.mu.Lock()
	running := e.ln != nil
	e.mu.Unlock()
	if running {
		return nil
	}
	return e.listen(e.addr)
}

// Close stops the emulator for good.
func (e *Emulator) Close() { e.Stop() }

// Sessions counts the shells opened since Start.
func (e *Emulator) Sessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sessions
}

// commandLog bounds the command log, as a device bounds its history, so an
// emulator serving a long soak run does not grow without end.
const commandLog = 4096

// transcriptLog bounds the transcript, whose entries carry whole answers
// (a running configuration is kilobytes): a few sessions' worth is what a
// golden test reads.
const transcriptLog = 256

// Commands returns the command lines received (the last 4096), in order.
func (e *Emulator) Commands() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.commands)
}

// ResetCommands forgets the command log.
func (e *Emulator) ResetCommands() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.commands, e.transcript = nil, nil
}

// VLANs is the device's VLAN table as the device itself sees it.
func (e *Emulator) VLANs() []switchdrv.VLAN {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dev.table()
}

// PortMode returns a port's mode ("trunk", "access"; "" for dialects without).
func (e *Emulator) PortMode(port string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dev.portMode(port)
}

// SetPortMode sets a port's mode, as the site's administrators would.
func (e *Emulator) SetPortMode(port, mode string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dev.setPortMode(port, mode)
}

// AddVLAN creates a VLAN with the given tagged ports, as set up by hand.
func (e *Emulator) AddVLAN(vid int, name string, tagged ...string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dev.addVLAN(vid, name, tagged)
}

// FailCommand makes the n-th command from now (1 = the next) fail without
// effect, printing msg, or the dialect's "invalid input" error when msg is "".
func (e *Emulator) FailCommand(n int, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failAt, e.failMsg = e.issued+n, msg
}

// Hang makes the n-th command from now (1 = the next) run but print no
// prompt after it, as a device stuck in a mode the client does not know.
func (e *Emulator) Hang(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hangAt == nil {
		e.hangAt = map[int]bool{}
	}
	e.hangAt[e.issued+n] = true
}

// FailPort makes every command that names the port fail as the device does
// for a port it cannot use. FailPort("") clears all port failures.
func (e *Emulator) FailPort(port string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if port == "" {
		clear(e.failPorts)
		return
	}
	e.failPorts[port] = true
}

// ClearFailures drops every injected failure.
func (e *Emulator) ClearFailures() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.failPorts)
	clear(e.hangAt)
	e.failAt, e.failMsg = 0, ""
}

// RefuseAuth makes the daemon refuse every login.
func (e *Emulator) RefuseAuth(refuse bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.refuseAuth = refuse
}

func (e *Emulator) serve(ln net.Listener) {
	defer e.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		e.mu.Lock()
		if e.ln != ln {
			e.mu.Unlock()
			_ = c.Close() // stopped meanwhile: refuse it
			return
		}
		e.conns[c] = true
		e.mu.Unlock()
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.handle(c)
			e.mu.Lock()
			delete(e.conns, c)
			e.mu.Unlock()
			_ = c.Close() // the session ended; the client sees that
		}()
	}
}

func (e *Emulator) serverConfig() *ssh.ServerConfig {
	check := func(user string, ok bool) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		if !ok || user != e.cfg.User || e.refuseAuth {
			return errors.New("access denied")
		}
		e.logins++
		return nil
	}
	sc := &ssh.ServerConfig{
		PasswordCallback: func(m ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			return nil, check(m.User(), string(pw) == e.cfg.Password)
		},
		KeyboardInteractiveCallback: func(m ssh.ConnMetadata, ask ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			ans, err := ask(m.User(), "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			return nil, check(m.User(), len(ans) == 1 && ans[0] == e.cfg.Password)
		},
		ServerVersion: "SSH-2.0-Cisco-1.25",
	}
	if k := e.cfg.AuthorizedKey; k != nil {
		sc.PublicKeyCallback = func(m ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			return nil, check(m.User(), string(key.Marshal()) == string(k.Marshal()))
		}
	}
	sc.AddHostKey(e.signer)
	return sc
}

func (e *Emulator) handle(nc net.Conn) {
	if e.cfg.Delay > 0 {
		nc = newLatencyConn(nc, e.cfg.Delay)
	}
	_, chans, reqs, err := ssh.NewServerConn(nc, e.serverConfig())
	if err != nil {
		e.log.Debug("handshake failed", "err", err)
		return
	}
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "only sessions") // a failed refusal ends the connection anyway
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.channel(ch, creqs)
		}()
	}
}

func (e *Emulator) channel(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer func() { _ = ch.Close() }() // the client sees the channel end
	pty := false
	done := make(chan struct{})
	started := false
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				if started {
					<-done
				}
				return
			}
			switch req.Type {
			case "pty-req":
				pty = true
				_ = req.Reply(true, nil) // a lost reply is the client's error to see
			case "window-change", "env":
				_ = req.Reply(true, nil) // a lost reply is the client's error to see
			case "shell":
				if started {
					_ = req.Reply(false, nil) // a lost reply is the client's error to see
					continue
				}
				started = true
				_ = req.Reply(true, nil) // a lost reply is the client's error to see
				e.mu.Lock()
				e.sessions++
				e.mu.Unlock()
				go func() {
					defer close(done)
					c := &cli{e: e, w: bufio.NewWriterSize(ch, 32<<10), r: bufio.NewReader(ch), echo: pty, paging: true, pageLen: 24}
					c.loop()
					_ = c.w.Flush() // the client may have gone: nothing to tell
					// The client may have gone first; then neither can reach it.
					_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
					_ = ch.Close()
				}()
			default:
				_ = req.Reply(false, nil) // a lost reply is the client's error to see
			}
		case <-done:
			return
		}
	}
}

// cli is one interactive shell.
type cli struct {
	e *Emulator
	// w holds what the shell prints until it waits for input (readByte):
	// one packet per answer, as a device's TCP stack would send it, not
	// one per line written.
	w       *bufio.Writer
	r       *bufio.Reader
	echo    bool
	paging  bool
	pageLen int
	more    string // the pager's prompt
	// mode is the dialect's current mode; ctx what the mode configures
	// (a VLAN, a list of ports).
	mode  string
	vlan  int
	ports []string
	// noPrompt skips the prompt after the current command.
	noPrompt bool
}

func (c *cli) write(s string) {
	_, _ = c.w.WriteString(strings.ReplaceAll(s, "\n", "\r\n")) // a lost client shows at the next read
}

// readByte reads one typed byte, first sending what the shell printed
// when it would otherwise wait with output held back.
func (c *cli) readByte() (byte, error) {
	if c.r.Buffered() == 0 {
		if err := c.w.Flush(); err != nil {
			return 0, err
		}
	}
	return c.r.ReadByte()
}

// readLine reads one line typed at the device; echo says whether to echo it.
func (c *cli) readLine(echo bool) (string, error) {
	var b []byte
	for {
		ch, err := c.readByte()
		if err != nil {
			return "", err
		}
		switch ch {
		case '\r', '\n':
			if ch == '\r' && c.r.Buffered() > 0 {
				if next, _ := c.r.Peek(1); next[0] == '\n' {
					_, _ = c.r.ReadByte() // the '\n' just peeked: no wait
				}
			}
			if echo && c.echo {
				c.write(string(b) + "\n")
			} else if c.echo {
				c.write("\n")
			}
			return string(b), nil
		case 3: // Ctrl-C abandons the line
			b = b[:0]
		case 4:
			if len(b) == 0 {
				return "", io.EOF
			}
		case 8, 127:
			if len(b) > 0 {
				b = b[:len(b)-1]
			}
		default:
			b = append(b, ch)
		}
	}
}

// print writes command output, paging it while paging is on.
func (c *cli) print(out string) {
	if out == "" {
		return
	}
	if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	ls := strings.SplitAfter(out, "\n")
	if !c.paging || c.more == "" || len(ls) <= c.pageLen {
		c.write(out)
		return
	}
	for len(ls) > 0 {
		n := min(c.pageLen-1, len(ls))
		c.write(strings.Join(ls[:n], ""))
		ls = ls[n:]
		if len(ls) == 0 || (len(ls) == 1 && ls[0] == "") {
			return
		}
		c.write(c.more)
		key, err := c.readByte()
		c.write("\r\x1b[K")
		if err != nil || key == 'q' || key == 3 {
			return
		}
	}
}

func (c *cli) loop() {
	c.write(c.e.banner())
	for {
		c.e.mu.Lock()
		p := c.e.dev.prompt(c)
		c.e.mu.Unlock()
		if !c.noPrompt {
			c.write(p)
		}
		c.noPrompt = false
		line, err := c.readLine(true)
		if err != nil {
			return
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		out, quit := c.command(line)
		c.e.mu.Lock()
		c.e.transcript = append(c.e.transcript, strings.TrimLeft(p, "\n")+line+"\n"+out)
		if len(c.e.transcript) > transcriptLog {
			c.e.transcript = slices.Delete(c.e.transcript, 0, transcriptLog/2)
		}
		c.e.mu.Unlock()
		c.print(out)
		if quit {
			return
		}
	}
}

// Transcript returns the last commands with the prompt before each and
// the device's answer, as a terminal would show them (without paging).
func (e *Emulator) Transcript() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, t := range e.transcript {
		b.WriteString(t)
		if !strings.HasSuffix(t, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// record logs a command line; e.mu is held.
func (e *Emulator) record(line string) {
	e.issued++
	if len(e.commands) == commandLog {
		e.commands = slices.Delete(e.commands, 0, commandLog/2)
	}
	e.commands = append(e.commands, line)
}

// command runs one line, applying injected failures first.
func (c *cli) command(line string) (string, bool) {
	e := c.e
	if ios, ok := e.dev.(*iosDev); ok && line == "enable" {
		e.mu.Lock()
		e.record(line)
		e.mu.Unlock()
		return ios.enable(c), false
	}
	e.mu.Lock()
	e.record(line)
	if e.hangAt[e.issued] {
		c.noPrompt = true
	}
	if refused(e.cfg.Refuse, line) {
		msg := e.dev.genericError(c, line)
		e.mu.Unlock()
		return msg, false
	}
	if e.issued == e.failAt {
		msg := e.failMsg
		if msg == "" {
			msg = e.dev.genericError(c, line)
		}
		e.mu.Unlock()
		return msg, false
	}
	toks := strings.FieldsFunc(line, func(r rune) bool { return strings.ContainsRune(" ,'\"", r) })
	if n, ok := e.dev.(interface{ portsIn(string) []string }); ok {
		toks = append(toks, n.portsIn(line)...) // ports written as a type and a number
	}
	for _, tok := range toks {
		if e.failPorts[tok] {
			msg := e.dev.portError(c, line, tok)
			e.mu.Unlock()
			return msg, false
		}
	}
	dev := e.dev
	if lx, ok := dev.(*linuxDev); ok && len(e.cfg.Exec) > 0 {
		e.mu.Unlock()
		return lx.exec(c, line)
	}
	defer e.mu.Unlock()
	return dev.run(c, line)
}

// refused reports whether a line starts with one of the refused commands.
func refused(cmds []string, line string) bool {
	words := strings.Join(strings.Fields(strings.ToLower(line)), " ")
	for _, c := range cmds {
		if words == c || strings.HasPrefix(words, c+" ") {
			return true
		}
	}
	return false
}

func (e *Emulator) banner() string {
	switch e.cfg.Dialect {
	case "junos":
		return "--- JUNOS 20.4R3.8 Kernel 64-bit  JNPR-12.1-20211214.3c5e7b2_buil\n"
	case "procurve":
		return "HP J9727A 2920-24G-PoEP Switch\nSoftware revision WB.16.02.0012\n\n"
	case "linux-bridge":
		return "Linux " + e.cfg.Hostname + " 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC x86_64\n\n"
	case "cumulus-nvue":
		return "Linux " + e.cfg.Hostname + " 5.10.0-cl-1-amd64 #1 SMP Debian 5.10.179-1+cl5.9.1u3 x86_64\n\nWelcome to NVIDIA Cumulus (R) Linux (R)\n\n"
	case "sonic":
		return "Linux " + e.cfg.Hostname + " 5.10.0-23-2-amd64 #1 SMP Debian 5.10.179-3 x86_64\nYou are on\n  ____   ___  _   _ _  ____\n / ___| / _ \\| \\ | (_)/ ___|\n \\___ \\| | | |  \\| | | |\n  ___) | |_| | |\\  | | |___\n |____/ \\___/|_| \\_|_|\\____|\n\n-- Software for Open Networking in the Cloud --\n\n"
	}
	return "\n"
}

// caret marks the first word of a line the device could not parse, the way
// IOS and Junos do.
func caret(prompt, line, word string) string {
	i := strings.Index(line, word)
	if i < 0 {
		i = 0
	}
	return strings.Repeat(" ", len(prompt)+i) + "^\n"
}

// latencyConn delays every chunk the client sends by a fixed time, as a
// network link with that round-trip time would.
type latencyConn struct {
	net.Conn
	delay  time.Duration
	chunks chan chunk
	rest   []byte
	err    error
}

type chunk struct {
	at   time.Time
	data []byte
	err  error
}

func newLatencyConn(c net.Conn, d time.Duration) *latencyConn {
	l := &latencyConn{Conn: c, delay: d, chunks: make(chan chunk, 1024)}
	go func() {
		b := make([]byte, 32<<10) // one buffer; each chunk is queued as a copy of its size
		for {
			n, err := c.Read(b)
			l.chunks <- chunk{at: time.Now().Add(d), data: slices.Clone(b[:n]), err: err}
			if err != nil {
				close(l.chunks)
				return
			}
		}
	}()
	return l
}

func (l *latencyConn) Read(b []byte) (int, error) {
	for len(l.rest) == 0 {
		if l.err != nil {
			return 0, l.err
		}
		ch, ok := <-l.chunks
		if !ok {
			return 0, io.EOF
		}
		time.Sleep(time.Until(ch.at)) // the emulated wire: never a test's clock
		l.rest, l.err = ch.data, ch.err
	}
	n := copy(b, l.rest)
	l.rest = l.rest[n:]
	return n, nil
}
