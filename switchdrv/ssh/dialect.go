package ssh

import (
	"bytes"
	"embed"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/BurntSushi/toml"
)

//go:embed dialects/*.toml
var dialectFiles embed.FS

// Dialect is one vendor CLI described as data: its prompts, the commands
// around a batch, the templates that render a change, and the patterns that
// mark a command's output as a failure.
type Dialect struct {
	Name string `toml:"name"`
	// Reads are the ways to read the device's state, tried in order until
	// one is answered and parses: a richer one first where it saves work,
	// then the one every platform of the family answers. The driver keeps
	// to the first that worked.
	Reads []Read `toml:"read"`
	// Modes says whether ports have a trunk/access mode that must be checked.
	Modes bool `toml:"modes"`
	// TagModes are the port modes in which a port may be tagged ("trunk"
	// unless set; PowerConnect also tags "general" ports).
	TagModes []string `toml:"tag_modes"`
	// Ports is how the CLI names ports.
	Ports portForms `toml:"ports"`
	// Deadlines, in seconds: how long one command may take to answer with a
	// prompt (a switch's command_timeout replaces Command); saving and
	// committing take longer on real devices.
	Deadlines struct {
		Command float64 `toml:"command"`
		Save    float64 `toml:"save"`
		Commit  float64 `toml:"commit"`
	} `toml:"deadlines"`
	PagingOff   []string `toml:"paging_off"`
	Enable      string   `toml:"enable"`
	ConfigEnter []string `toml:"config_enter"`
	ConfigExit  []string `toml:"config_exit"`
	// Commit is sent after a batch only when no line of it failed; Abort
	// instead when one did.
	Commit []string `toml:"commit"`
	Abort  []string `toml:"abort"`
	Save   []string `toml:"save"`
	More   string   `toml:"more"`
	Errors []string `toml:"errors"`
	// PortsPerCommand splits tag/untag into commands of at most this many ports.
	PortsPerCommand int `toml:"ports_per_command"`
	// Batch, when set, wraps chunks of BatchLines rendered lines into a
	// command (a shell pipeline into `bridge -batch -`); the chunks are
	// joined with && into one command line, because a shell's terminal
	// echoes input typed ahead while a command runs.
	Batch      string `toml:"batch"`
	BatchLines int    `toml:"batch_lines"`
	Prompts    struct {
		Exec     string `toml:"exec"`
		Enable   string `toml:"enable"`
		Config   string `toml:"config"`
		Password string `toml:"password"`
		// Confirm is a question a command asks before it acts (VRP
		// `save`); the next command of the batch answers it.
		Confirm string `toml:"confirm"`
	} `toml:"prompts"`
	Commands struct {
		Create string `toml:"create"`
		Tag    string `toml:"tag"`
		Untag  string `toml:"untag"`
		Delete string `toml:"delete"`
	} `toml:"commands"`

	prompts, errors                *linePattern
	execRE, passwordRE, moreRE     *regexp.Regexp
	moreLit                        string // a part of every pager prompt, or ""
	configRE                       *regexp.Regexp
	create, tag, untag, del, batch *template.Template
}

// Read is one way to read the state: commands typed ahead as one batch and
// the Go parser (by name) that reads their outputs.
type Read struct {
	Commands []string `toml:"commands"`
	Parser   string   `toml:"parser"`
	parse    parser
}

var funcs = template.FuncMap{"join": strings.Join, "trimPrefix": strings.TrimPrefix}

// LoadDialect reads and checks one dialect file.
func LoadDialect(name string, b []byte) (*Dialect, error) {
	d := &Dialect{}
	md, err := toml.Decode(string(b), d)
	if err != nil {
		return nil, fmt.Errorf("dialect %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("dialect %s: unknown key %s", name, und[0])
	}
	if d.Name != name {
		return nil, fmt.Errorf("dialect %s: file names itself %q", name, d.Name)
	}
	if len(d.TagModes) == 0 {
		d.TagModes = []string{"trunk"}
	}
	if len(d.Reads) == 0 {
		return nil, fmt.Errorf("dialect %s: no [[read]]", name)
	}
	for i := range d.Reads {
		r := &d.Reads[i]
		if r.parse = parsers[r.Parser]; r.parse == nil {
			return nil, fmt.Errorf("dialect %s: unknown parser %q", name, r.Parser)
		}
		if len(r.Commands) == 0 {
			return nil, fmt.Errorf("dialect %s: a read without commands", name)
		}
	}
	if err := d.Ports.compile(); err != nil {
		return nil, fmt.Errorf("dialect %s: %w", name, err)
	}
	if d.Deadlines.Command <= 0 {
		return nil, fmt.Errorf("dialect %s: deadlines.command is not set", name)
	}
	d.Deadlines.Save = max(d.Deadlines.Save, d.Deadlines.Command)
	d.Deadlines.Commit = max(d.Deadlines.Commit, d.Deadlines.Command)
	if d.PortsPerCommand < 1 {
		d.PortsPerCommand = 1
	}
	if d.BatchLines < 1 {
		d.BatchLines = 64
	}
	var prompts []string
	for _, p := range []string{d.Prompts.Config, d.Prompts.Enable, d.Prompts.Exec, d.Prompts.Confirm} {
		if p != "" {
			prompts = append(prompts, p)
		}
	}
	if len(prompts) == 0 {
		return nil, fmt.Errorf("dialect %s: no prompts", name)
	}
	re := func(what, s string) *regexp.Regexp {
		if s == "" || err != nil {
			return nil
		}
		r, e := regexp.Compile("(?m)" + s)
		if e != nil {
			err = fmt.Errorf("dialect %s: %s: %w", name, what, e)
		}
		return r
	}
	d.execRE = re("prompts.exec", d.Prompts.Exec)
	d.passwordRE = re("prompts.password", d.Prompts.Password)
	d.configRE = re("prompts.config", d.Prompts.Config)
	d.moreRE = re("more", d.More)
	d.moreLit = requiredLiteral(d.More)
	for _, e := range d.Errors {
		re("errors", e) // each pattern checked on its own, for a message that names it
	}
	perLine := func(what string, patterns []string) *linePattern {
		if err != nil {
			return nil
		}
		lp, e := compileLines(patterns)
		if e != nil {
			err = fmt.Errorf("dialect %s: %s: %w", name, what, e)
		}
		return lp
	}
	d.prompts = perLine("prompts", prompts)
	d.errors = perLine("errors", d.Errors)
	tmpl := func(what, s string) *template.Template {
		if err != nil || strings.TrimSpace(s) == "" {
			return nil
		}
		t, e := template.New(what).Funcs(funcs).Option("missingkey=error").Parse(s)
		if e != nil {
			err = fmt.Errorf("dialect %s: commands.%s: %w", name, what, e)
		}
		return t
	}
	d.create = tmpl("create", d.Commands.Create)
	d.tag = tmpl("tag", d.Commands.Tag)
	d.untag = tmpl("untag", d.Commands.Untag)
	d.del = tmpl("delete", d.Commands.Delete)
	d.batch = tmpl("batch", d.Batch)
	if err != nil {
		return nil, err
	}
	return d, nil
}

var dialects = func() map[string]*Dialect {
	m := map[string]*Dialect{}
	ents, err := dialectFiles.ReadDir("dialects")
	if err != nil {
		panic(err)
	}
	for _, e := range ents {
		b, err := dialectFiles.ReadFile(path.Join("dialects", e.Name()))
		if err != nil {
			panic(err)
		}
		name := strings.TrimSuffix(e.Name(), ".toml")
		d, err := LoadDialect(name, b)
		if err != nil {
			panic(err)
		}
		m[name] = d
	}
	return m
}()

// Dialects lists the dialect names the driver knows.
func Dialects() []string {
	var names []string
	for n := range dialects {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns a built-in dialect.
func Lookup(name string) (*Dialect, bool) {
	d, ok := dialects[name]
	return d, ok
}

// tmplData is what the command templates see.
type tmplData struct {
	VLAN    int
	Name    string   // the name the VLAN gets when it is created
	Current string   // the name the device knows it by (Name if it has none yet)
	Ports   []string // the ports of this command
	Port    string   // Ports[0]
	Members []string // ports that still carry the VLAN (for delete)
	Mode    string   // the mode of Port, for dialects whose commands depend on it
}

// plan is what a change needs on the device, after comparing with its state.
type plan struct {
	VLAN          int
	Name, Current string
	Create        bool
	Tag, Untag    []string
	Delete        bool
	Members       []string
	Modes         map[string]string // each port's mode, as read
}

// rendered is the command lines of one batch; batched marks the lines
// (by index) that name several ports in one command (IOS `interface range`).
type rendered struct {
	lines   []string
	batched map[int]bool
}

// render turns a plan into the command lines of one batch (without entering
// or leaving configuration mode). With single, every command names one
// port: the fallback for a device that refuses the batch forms.
func (d *Dialect) render(p plan, single bool) (rendered, error) {
	out := rendered{batched: map[int]bool{}}
	cmdPorts := func(ps []string) []string {
		var cs []string
		for _, p := range ps {
			cs = append(cs, d.command(p))
		}
		return cs
	}
	run := func(t *template.Template, ports []string) error {
		if t == nil {
			return nil
		}
		data := tmplData{VLAN: p.VLAN, Name: p.Name, Current: p.Current, Ports: cmdPorts(ports), Members: cmdPorts(p.Members)}
		if len(ports) > 0 {
			data.Port, data.Mode = data.Ports[0], p.Modes[ports[0]]
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return fmt.Errorf("render %s for %s: %w", t.Name(), d.Name, err)
		}
		for _, l := range strings.Split(b.String(), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				if len(ports) > 1 {
					out.batched[len(out.lines)] = true
				}
				out.lines = append(out.lines, l)
			}
		}
		return nil
	}
	per := d.PortsPerCommand
	if single {
		per = 1
	}
	each := func(t *template.Template, ports []string) error {
		for i := 0; i < len(ports); i += per {
			if err := run(t, ports[i:min(i+per, len(ports))]); err != nil {
				return err
			}
		}
		return nil
	}
	if p.Create {
		if err := run(d.create, nil); err != nil {
			return out, err
		}
	}
	if err := each(d.tag, p.Tag); err != nil {
		return out, err
	}
	if err := each(d.untag, p.Untag); err != nil {
		return out, err
	}
	if p.Delete {
		if err := run(d.del, nil); err != nil {
			return out, err
		}
	}
	if d.batch == nil || len(out.lines) == 0 {
		return out, nil
	}
	var chunks []string
	for i := 0; i < len(out.lines); i += d.BatchLines {
		var b bytes.Buffer
		if err := d.batch.Execute(&b, out.lines[i:min(i+d.BatchLines, len(out.lines))]); err != nil {
			return out, fmt.Errorf("render batch for %s: %w", d.Name, err)
		}
		chunks = append(chunks, b.String())
	}
	out.lines = []string{strings.Join(chunks, " && ")}
	return out, nil
}

// failed returns the output lines that match an error pattern, joined.
// It runs over every line a switch prints: the patterns anchored at a
// line's start are tried there only, and the others only on the lines of
// an output that one scan found them in.
func (d *Dialect) failed(output string) (string, bool) {
	e := d.errors
	anywhere := e.any != nil && e.anyText.MatchString(output)
	if e.start == nil && !anywhere {
		return "", false
	}
	var bad []string
	for l := range strings.Lines(output) {
		l = strings.TrimSpace(l)
		if e.start != nil && e.start.MatchString(l) || anywhere && e.any.MatchString(l) {
			bad = append(bad, l)
		}
	}
	return strings.Join(bad, "; "), len(bad) > 0
}
