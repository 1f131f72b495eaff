package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/virtcloud/virtcloud/internal/client"
)

// completeFlag ends the words of a completion request, as urfave/cli's own
// shell scripts send it; vcctl answers it itself, so it can offer job ids and
// switch names from the server and values of flags.
const completeFlag = "--generate-bash-completion"

// completeTimeout bounds a completion's call to the server: a shell waits.
const completeTimeout = 2 * time.Second

func init() {
	extraCommands = append(extraCommands, func() []*cli.Command {
		return []*cli.Command{
			&cli.Command{
				Name:      "completion",
				Usage:     "print the shell completion script for bash, zsh or fish",
				ArgsUsage: "bash|zsh|fish",
				Description: "bash: vcctl completion bash > /etc/bash_completion.d/vcctl\n" +
					"zsh:  vcctl completion zsh > \"${fpath[1]}/_vcctl\"\n" +
					"fish: vcctl completion fish > ~/.config/fish/completions/vcctl.fish\n" +
					"Job ids and switch names come from the server when VIRTCLOUD_TOKEN (or --token) is set.",
				Action: printCompletion,
			},
			&cli.Command{
				Name:        "man",
				Usage:       "print vcctl's manual page (roff), made from its command definitions",
				Description: "vcctl man > vcctl.1 && man -l vcctl.1",
				Action:      printMan,
			}}
	})
}

var completionScripts = map[string]string{
	// bash without the bash-completion package: COMP_WORDS as bash has them.
	"bash": `# bash completion for vcctl
_vcctl() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  if [[ $cur == -* ]]; then words+=("$cur"); fi
  local IFS=$'\n'
  COMPREPLY=($(compgen -W "$("${words[@]}" ` + completeFlag + ` 2>/dev/null)" -- "$cur"))
}
complete -o default -F _vcctl vcctl
`,
	"zsh": `#compdef vcctl
# zsh completion for vcctl
_vcctl() {
  local -a opts
  local cur=${words[CURRENT]}
  local -a ask=("${(@)words[1,CURRENT-1]}")
  [[ $cur == -* ]] && ask+=("$cur")
  opts=("${(@f)$("${ask[@]}" ` + completeFlag + ` 2>/dev/null)}")
  if [[ -n ${opts[1]} ]]; then
    _describe 'vcctl' opts
  else
    _files
  fi
}
compdef _vcctl vcctl
`,
	"fish": `# fish completion for vcctl
function __vcctl_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    if string match -q -- '-*' $cur
        set words $words $cur
    end
    $words ` + completeFlag + ` 2>/dev/null
end
complete -c vcctl -f -a '(__vcctl_complete)'
`,
}

func printCompletion(c *cli.Context) error {
	shell, err := arg(c, "SHELL (bash, zsh or fish)")
	if err != nil {
		return err
	}
	s, ok := completionScripts[shell]
	if !ok {
		return cli.Exit(fmt.Sprintf("completion: %q is not bash, zsh or fish", shell), ExitUsage)
	}
	_, err = io.WriteString(c.App.Writer, s)
	return err
}

func printMan(c *cli.Context) error {
	if c.NArg() != 0 {
		return cli.Exit("man takes no arguments", ExitUsage)
	}
	page, err := c.App.ToMan()
	if err != nil {
		return err
	}
	_, err = io.WriteString(c.App.Writer, page)
	return err
}

// complete prints the candidates for the word after words (the command line
// so far, without the program's name): values of the flag just typed, flags
// when the last word starts with "-", subcommands, or the job ids and switch
// names a command takes.
func complete(app *cli.App, words []string, w io.Writer) {
	cmds, flags := app.Commands, app.Flags
	var cmd *cli.Command
	global := map[string]string{} // global flags given, for reaching the server
	for i := 0; i < len(words); i++ {
		a := words[i]
		if strings.HasPrefix(a, "-") {
			if i == len(words)-1 {
				break
			}
			if takesValue(flags, a) {
				if cmd == nil {
					global[strings.TrimLeft(a, "-")] = words[i+1]
				}
				i++
			}
			continue
		}
		if c := find(cmds, a); c != nil && (cmd == nil || len(cmd.Subcommands) > 0) {
			cmd, cmds, flags = c, c.Subcommands, c.Flags
		}
	}
	last := ""
	if len(words) > 0 {
		last = words[len(words)-1]
	}
	switch {
	case strings.HasPrefix(last, "-") && takesValue(flags, last):
		printAll(w, flagValues(app, global, strings.TrimLeft(last, "-")))
	case strings.HasPrefix(last, "-"):
		for _, f := range flags {
			for _, n := range f.Names() {
				if len(n) > 1 && strings.HasPrefix("--"+n, last) {
					fmt.Fprintln(w, "--"+n)
				}
			}
		}
	case cmd == nil || len(cmd.Subcommands) > 0:
		for _, c := range cmds {
			if !c.Hidden {
				fmt.Fprintln(w, c.Name)
			}
		}
	case cmd.ArgsUsage == "JOB":
		printAll(w, jobs(app, global, cmd.Name != "show"))
	case cmd.ArgsUsage == "SWITCH":
		printAll(w, switches(app, global))
	case cmd.Name == "completion":
		printAll(w, slices.Sorted(maps.Keys(completionScripts)))
	}
}

func printAll(w io.Writer, items []string) {
	for _, s := range items {
		fmt.Fprintln(w, s)
	}
}

func flagValues(app *cli.App, global map[string]string, flag string) []string {
	switch flag {
	case "switch":
		return switches(app, global)
	case "output", "o":
		return []string{"json", "table"}
	}
	return nil
}

// completionClient reaches the server only when a token is set: without
// one every call would be refused.
func completionClient(app *cli.App, global map[string]string) (*client.Client, context.Context, context.CancelFunc) {
	server, token := flagOrEnv(app, global, "server"), flagOrEnv(app, global, "token")
	if token == "" {
		return nil, nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
	return client.New(server, token), ctx, cancel
}

// flagOrEnv is a global flag's value as given on the line, else from its
// environment variable, else its default.
func flagOrEnv(app *cli.App, global map[string]string, name string) string {
	if v, ok := global[name]; ok {
		return v
	}
	for _, f := range app.Flags {
		if sf, ok := f.(*cli.StringFlag); ok && sf.Name == name {
			for _, e := range sf.EnvVars {
				if v := os.Getenv(e); v != "" {
					return v
				}
			}
			return sf.Value
		}
	}
	return ""
}

func jobs(app *cli.App, global map[string]string, liveOnly bool) []string {
	cl, ctx, cancel := completionClient(app, global)
	if cl == nil {
		return nil
	}
	defer cancel()
	ls, err := cl.List(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range ls {
		if !liveOnly || l.State.Live() {
			out = append(out, l.Job)
		}
	}
	return out
}

func switches(app *cli.App, global map[string]string) []string {
	cl, ctx, cancel := completionClient(app, global)
	if cl == nil {
		return nil
	}
	defer cancel()
	sws, err := cl.Switches(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range sws {
		out = append(out, s.Name)
	}
	return out
}
