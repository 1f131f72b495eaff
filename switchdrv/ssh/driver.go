// Package ssh is the switch driver that speaks a vendor CLI over SSH. Each
// CLI is a Dialect described as data (dialects/*.toml: prompts, paging, the
// commands around a batch, command templates and error patterns); the driver
// keeps one interactive session per switch, reads the device's state, checks
// that every port to tag is a trunk, and sends each change as one batch.
package ssh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/switchdrv"
)

func init() {
	switchdrv.Register(switchdrv.Registration{Name: "ssh", Open: New,
		Settings: func() config.SwitchSettings { return &Config{} }})
}

// IdleClose is how long a session stays open after its last use.
const IdleClose = 30 * time.Second

// Driver is the SSH driver for one switch.
type Driver struct {
	cfg     config.Switch // the shared keys, Uplinks canonical
	set     Config        // the driver's own, checked
	name    string
	dialect *Dialect
	log     *slog.Logger
	managed func(int) bool

	mu          sync.Mutex // one operation, and one session, at a time
	sess        *session
	read        int  // the dialect's read that this device answered last
	single      bool // the device refused a batch form: one port per command
	wait        time.Duration
	idleClose   time.Duration
	idle        *time.Timer
	saveTimer   *time.Timer
	savePending bool
	closed      bool
}

var _ switchdrv.Driver = (*Driver)(nil)

// New opens the driver for one [switches.NAME] table with driver = "ssh".
// It does not connect: the first operation does.
func New(cfg *config.Switch, opts switchdrv.Options) (switchdrv.Driver, error) {
	s, ok := cfg.Settings.(*Config)
	if !ok {
		return nil, fmt.Errorf("switch %s: settings are %T, not *ssh.Config", opts.Name, cfg.Settings)
	}
	set := *s // Check fills in defaults; the caller's value stays as it was
	if err := switchdrv.CheckSettings(&set); err != nil {
		return nil, fmt.Errorf("switch %s: %w", opts.Name, err)
	}
	d := dialects[set.Dialect]
	c := *cfg
	c.Uplinks = slices.Clone(c.Uplinks)
	var err error
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		c.Address = net.JoinHostPort(c.Address, "22")
	}
	if c.Timeout.Duration <= 0 {
		c.Timeout.Duration = switchdrv.DefaultTimeout
	}
	if c.VLANName == "" {
		c.VLANName = "vc-{vid}"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Managed == nil {
		opts.Managed = func(int) bool { return true }
	}
	wait := time.Duration(d.Deadlines.Command * float64(time.Second))
	if set.CommandTimeout.Duration > 0 {
		wait = set.CommandTimeout.Duration
	}
	for i, p := range c.Uplinks {
		if c.Uplinks[i], err = d.Canonical(p); err != nil {
			return nil, fmt.Errorf("switch %s: uplinks: %w", opts.Name, err)
		}
	}
	return &Driver{cfg: c, set: set, name: opts.Name, dialect: d, managed: opts.Managed, idleClose: IdleClose, wait: wait,
		log: opts.Logger.With("switch", opts.Name, "dialect", d.Name)}, nil
}

func (d *Driver) fail(kind switchdrv.Kind, vid int, port string, err error) error {
	return &switchdrv.Error{Switch: d.name, VLAN: vid, Port: port, Kind: kind, Err: err}
}

// wrap turns session failures into driver errors.
func (d *Driver) wrap(vid int, err error) error {
	var f *sessionError
	if errors.As(err, &f) {
		return d.fail(f.kind, vid, "", f.err)
	}
	var e *switchdrv.Error
	if errors.As(err, &e) {
		return err
	}
	return d.fail(switchdrv.BadAnswer, vid, "", err)
}

// check refuses a change that must not reach the device: a VLAN outside the
// managed ranges, or a name or port outside the safe character set.
func (d *Driver) check(c *switchdrv.Change) error {
	bad := func(port string, format string, a ...any) error {
		return d.fail(switchdrv.Rejected, c.VLAN, port, fmt.Errorf("not sent to the device: "+format, a...))
	}
	if c.VLAN < config.MinVLAN || c.VLAN > config.MaxVLAN || !d.managed(c.VLAN) {
		return bad("", "vlan %d is not in the ranges this project manages", c.VLAN)
	}
	if c.Name == "" {
		c.Name = switchdrv.RenderName(d.cfg.VLANName, c.VLAN)
	}
	if !config.ValidPort(c.Name) {
		return bad("", "vlan name %q: use letters, digits and / : . _ -", c.Name)
	}
	if c.Delete && len(c.Add) > 0 {
		return bad("", "a change cannot both add ports and delete the VLAN")
	}
	seen := map[string]string{}
	for _, l := range []struct {
		what  string
		ports []string
	}{{"add", c.Add}, {"remove", c.Remove}} {
		for i, p := range l.ports {
			q, err := d.dialect.Canonical(p)
			if err != nil {
				return bad(p, "%v", err)
			}
			if !config.ValidPort(q) {
				return bad(p, "port name %q: use letters, digits and / : . _ -", p)
			}
			l.ports[i], p = q, q
			if w, dup := seen[p]; dup && w != l.what {
				return bad(p, "port is both added and removed")
			}
			seen[p] = l.what
		}
	}
	return nil
}

// Apply makes the change in one session: one read of the device's state,
// one batch of commands, and for committing dialects one commit. A device
// that refuses a batch form gets the change again, one port per command,
// in the same session; a command left without a prompt costs the session,
// and the change is made once more on a new one.
func (d *Driver) Apply(ctx context.Context, c switchdrv.Change) error {
	c.Add, c.Remove = slices.Clone(c.Add), slices.Clone(c.Remove)
	if err := d.check(&c); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout.Duration)
	defer cancel()
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.apply(ctx, c)
	if np := (*noPrompt)(nil); errors.As(err, &np) && ctx.Err() == nil {
		d.log.WarnContext(ctx, "no prompt: the change is made again on a new session", "vlan", c.VLAN, "command", np.cmd, "last", np.last)
		err = d.apply(ctx, c)
	}
	return err
}

func (d *Driver) apply(ctx context.Context, c switchdrv.Change) error {
	fellBack := false
	for {
		s, st, err := d.state(ctx, c.VLAN)
		if err != nil {
			return err
		}
		p, err := d.plan(c, st)
		if err != nil {
			return err
		}
		r, err := d.dialect.render(p, d.single)
		if err != nil {
			return d.fail(switchdrv.BadAnswer, c.VLAN, "", err)
		}
		if len(r.lines) == 0 {
			d.log.DebugContext(ctx, "vlan already as asked", "vlan", c.VLAN)
			return nil
		}
		err = d.send(ctx, s, c, r.lines)
		if err != nil && fellBack {
			d.single = false // one port per command failed too: the batch form was not the trouble
		}
		var refused *refusal
		if errors.As(err, &refused) && r.batched[refused.index-len(d.dialect.ConfigEnter)] && !d.single && !s.broken && !d.inConfig(refused.prompt) {
			// The device does not take the batch form: the rest of the
			// batch ran in a mode it did not expect, so read again and
			// send what still differs one port per command.
			d.log.InfoContext(ctx, "batch form refused: one port per command from now on", "vlan", c.VLAN, "command", refused.cmd)
			d.single, fellBack = true, true
			continue
		}
		if err != nil {
			d.drop()
			return err
		}
		d.log.InfoContext(ctx, "vlan changed", "vlan", c.VLAN, "tagged", len(p.Tag), "untagged", len(p.Untag), "created", p.Create, "deleted", p.Delete, "commands", len(r.lines))
		d.scheduleSave()
		return nil
	}
}

// inConfig reports whether a prompt is a configuration-mode one: a batch
// that failed and still left the device there is in an unknown mode.
func (d *Driver) inConfig(prompt string) bool {
	return d.dialect.configRE != nil && d.dialect.configRE.MatchString(prompt)
}

// plan compares the change with the device's state: only what differs is sent.
func (d *Driver) plan(c switchdrv.Change, st *State) (plan, error) {
	if st.Modes != nil {
		for _, p := range c.Add {
			switch m, ok := st.Modes[p]; {
			case !ok:
				return plan{}, d.fail(switchdrv.Rejected, c.VLAN, p, errors.New("the switch has no such port (or it has no switching configuration)"))
			case !slices.Contains(d.dialect.TagModes, m):
				return plan{}, d.fail(switchdrv.Rejected, c.VLAN, p, fmt.Errorf("port is in %s mode, not %s: the site sets port modes, the driver never changes them", m, strings.Join(d.dialect.TagModes, " or ")))
			}
		}
	}
	p := plan{VLAN: c.VLAN, Name: c.Name, Current: c.Name, Modes: st.Modes}
	cur := st.VLANs[c.VLAN]
	tagged := st.carriers(c.VLAN)
	if cur != nil {
		if cur.Name != "" {
			p.Current = cur.Name
		}
	}
	p.Create = cur == nil && !c.Delete
	for _, port := range c.Add {
		if !slices.Contains(tagged, port) && !slices.Contains(p.Tag, port) {
			p.Tag = append(p.Tag, port)
		}
	}
	for _, port := range c.Remove {
		if slices.Contains(tagged, port) && !slices.Contains(p.Untag, port) {
			p.Untag = append(p.Untag, port)
		}
	}
	if c.Delete && cur != nil {
		p.Delete = true
		for _, port := range append(slices.Clone(cur.Tagged), cur.Untagged...) {
			if !slices.Contains(p.Untag, port) && !slices.Contains(p.Members, port) {
				p.Members = append(p.Members, port)
			}
		}
	}
	return p, nil
}

// send runs one batch in configuration mode and checks every command's output.
func (d *Driver) send(ctx context.Context, s *session, c switchdrv.Change, lines []string) error {
	dl := d.dialect
	batch := append(slices.Clone(dl.ConfigEnter), lines...)
	if len(dl.Commit) == 0 {
		batch = append(batch, dl.ConfigExit...)
	}
	rs, err := s.run(ctx, batch)
	if err != nil {
		return d.wrap(c.VLAN, err)
	}
	failure := d.firstFailure(c, rs)
	if len(dl.Commit) == 0 {
		return failure
	}
	// Commit only a batch without errors, and leave only after the commit
	// has answered: leaving with uncommitted changes makes Junos ask.
	if failure == nil {
		rs, err = s.runWithin(ctx, dl.Commit, max(s.wait, seconds(dl.Deadlines.Commit)))
		if err != nil {
			return d.wrap(c.VLAN, err)
		}
		failure = d.firstFailure(c, rs)
	}
	finish := dl.ConfigExit
	if failure != nil {
		finish = append(slices.Clone(dl.Abort), dl.ConfigExit...)
	}
	rs, err = s.run(ctx, finish)
	if err != nil {
		return errors.Join(failure, d.wrap(c.VLAN, err))
	}
	if failure != nil {
		return failure
	}
	return d.firstFailure(c, rs)
}

// refusal is a command the device answered with an error pattern.
type refusal struct {
	cmd, line, prompt string
	index             int // of the command in its batch
}

func (r *refusal) Error() string { return fmt.Sprintf("command %q: %s", r.cmd, r.line) }

// firstFailure matches each command's output against the error patterns and
// names the command and, where it can tell, the port. The prompt is the
// last one of the batch: the mode the device was left in.
func (d *Driver) firstFailure(c switchdrv.Change, rs []result) error {
	for i, r := range rs {
		line, bad := d.dialect.failed(r.text)
		if !bad {
			continue
		}
		return d.fail(switchdrv.Rejected, c.VLAN, d.portOf(c, line, r.cmd), &refusal{cmd: r.cmd, line: line, prompt: rs[len(rs)-1].prompt, index: i})
	}
	return nil
}

// portOf finds the change's port that an error message or its command
// names, in whatever form (one word, or a type and a number).
func (d *Driver) portOf(c switchdrv.Change, msg, cmd string) string {
	ports := append(slices.Clone(c.Add), c.Remove...)
	names := func(s string) []string {
		toks := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" ,'\"\t", r) })
		var out []string
		for i, tok := range toks {
			tok = strings.TrimRight(tok, ".")
			out = append(out, tok, d.dialect.canonicalOrSelf(tok))
			if i+1 < len(toks) {
				out = append(out, d.dialect.canonicalOrSelf(tok+" "+strings.TrimRight(toks[i+1], ".")))
			}
		}
		return out
	}
	for _, tok := range names(msg) {
		if slices.Contains(ports, tok) {
			return tok
		}
	}
	var in []string
	for _, tok := range names(cmd) {
		if slices.Contains(ports, tok) && !slices.Contains(in, tok) {
			in = append(in, tok)
		}
	}
	if len(in) == 1 {
		return in[0]
	}
	return ""
}

// state returns a live session and the device's state, reopening a session
// that the device closed while it was idle. It tries the dialect's reads
// from the one that worked last: a read the device refuses or answers in a
// form the parser does not know gives way to the next, in the same session.
func (d *Driver) state(ctx context.Context, vid int) (*session, *State, error) {
	if d.closed {
		return nil, nil, d.fail(switchdrv.Rejected, vid, "", errors.New("driver is closed"))
	}
	for attempt := 0; ; attempt++ {
		reused := d.sess != nil
		s, err := d.session(ctx)
		if err != nil {
			return nil, nil, d.wrap(vid, err)
		}
		st, err := d.readState(ctx, s, vid)
		var f *sessionError
		if err != nil && errors.As(err, &f) {
			d.drop()
			if reused && attempt == 0 && f.kind != switchdrv.TimedOut {
				continue
			}
			return nil, nil, d.wrap(vid, err)
		}
		if err != nil {
			d.drop()
			return nil, nil, err
		}
		return s, st, nil
	}
}

// readState runs the reads in turn from the last one that worked.
func (d *Driver) readState(ctx context.Context, s *session, vid int) (*State, error) {
	reads := d.dialect.Reads
	var errs []error
	for k := range reads {
		i := (d.read + k) % len(reads)
		rs, err := d.runRead(ctx, s, reads[i].Commands)
		if err != nil {
			return nil, err
		}
		outs := make([]string, len(rs))
		for j, r := range rs {
			if line, bad := d.dialect.failed(r.text); bad {
				err = d.fail(switchdrv.Rejected, vid, "", fmt.Errorf("command %q: %s", r.cmd, line))
				break
			}
			outs[j] = r.text
		}
		if err == nil {
			var st *State
			if st, err = d.dialect.Parse(i, outs); err == nil {
				if i != d.read {
					d.log.InfoContext(ctx, "state read", "commands", strings.Join(reads[i].Commands, "; "))
					d.read = i
				}
				return st, nil
			}
			err = d.fail(switchdrv.BadAnswer, vid, "", err)
		}
		d.log.DebugContext(ctx, "state read failed; trying the next", "commands", strings.Join(reads[i].Commands, "; "), "err", err)
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// runRead sends one read's commands, in one batch when paging is off.
func (d *Driver) runRead(ctx context.Context, s *session, cmds []string) ([]result, error) {
	if len(d.dialect.PagingOff) > 0 {
		return s.run(ctx, cmds)
	}
	var rs []result
	for _, c := range cmds {
		r, err := s.run(ctx, []string{c})
		if err != nil {
			return nil, err
		}
		rs = append(rs, r...)
	}
	return rs, nil
}

// session returns the open session or dials a new one.
func (d *Driver) session(ctx context.Context) (*session, error) {
	if s := d.sess; s != nil {
		if !s.broken && s.drain() {
			d.touch()
			return s, nil
		}
		d.drop()
	}
	s, err := dial(ctx, &d.cfg, &d.set, d.dialect, d.wait)
	if err != nil {
		return nil, err
	}
	d.log.DebugContext(ctx, "ssh session opened", "address", d.cfg.Address)
	d.sess = s
	d.touch()
	return s, nil
}

// touch (re)starts the idle timer that closes the session.
func (d *Driver) touch() {
	if d.idle == nil {
		d.idle = time.AfterFunc(d.idleClose, func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.drop()
		})
		return
	}
	d.idle.Reset(d.idleClose)
}

// drop closes the session; the next operation opens a new one.
func (d *Driver) drop() {
	if d.sess != nil {
		d.sess.close()
		d.sess = nil
	}
}

func (d *Driver) scheduleSave() {
	if !d.set.Save || len(d.dialect.Save) == 0 {
		return
	}
	d.savePending = true
	if d.saveTimer == nil {
		d.saveTimer = time.AfterFunc(d.set.SaveDelay.Duration, func() {
			ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout.Duration)
			defer cancel()
			if err := d.Save(ctx); err != nil {
				d.log.Error("save configuration", "err", err)
			}
		})
		return
	}
	d.saveTimer.Reset(d.set.SaveDelay.Duration)
}

// Save writes the running configuration to the startup configuration now if
// a change is waiting for the debounced save (save = true).
func (d *Driver) Save(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.saveLocked(ctx)
}

func (d *Driver) saveLocked(ctx context.Context) error {
	if !d.savePending {
		return nil
	}
	s, err := d.session(ctx)
	if err != nil {
		return d.wrap(0, err)
	}
	rs, err := s.runWithin(ctx, d.dialect.Save, max(d.wait, seconds(d.dialect.Deadlines.Save)))
	if err != nil {
		d.drop()
		return d.wrap(0, err)
	}
	for _, r := range rs {
		if line, bad := d.dialect.failed(r.text); bad {
			return d.fail(switchdrv.Rejected, 0, "", fmt.Errorf("save: command %q: %s", r.cmd, line))
		}
	}
	d.savePending = false
	d.log.InfoContext(ctx, "configuration saved")
	return nil
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// VLAN reads one VLAN from the device.
func (d *Driver) VLAN(ctx context.Context, vid int) (switchdrv.VLAN, bool, error) {
	vs, err := d.VLANs(ctx)
	if err != nil {
		return switchdrv.VLAN{}, false, err
	}
	for _, v := range vs {
		if v.ID == vid {
			return v, true, nil
		}
	}
	return switchdrv.VLAN{}, false, nil
}

// VLANs lists the VLANs on the device with their tagged and untagged ports.
func (d *Driver) VLANs(ctx context.Context) ([]switchdrv.VLAN, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout.Duration)
	defer cancel()
	d.mu.Lock()
	defer d.mu.Unlock()
	_, st, err := d.state(ctx, 0)
	if np := (*noPrompt)(nil); errors.As(err, &np) && ctx.Err() == nil {
		_, st, err = d.state(ctx, 0) // on a new session
	}
	if err != nil {
		return nil, err
	}
	return st.sorted(), nil
}

// Close saves a pending change and closes the session.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if d.saveTimer != nil {
		d.saveTimer.Stop()
	}
	if d.idle != nil {
		d.idle.Stop()
	}
	var err error
	if d.savePending {
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.Timeout.Duration)
		err = d.saveLocked(ctx)
		cancel()
	}
	d.drop()
	return err
}
