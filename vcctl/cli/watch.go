package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// leaseWatch lists the leases again each time they change, until
// interrupted. On a terminal it redraws the screen; elsewhere it writes each
// new list after the last (with --output json, one line per list), so a
// script can follow it. A server that stops answering is said once on stderr
// and asked again.
func leaseWatch(c *cli.Context) error {
	every := c.Duration("interval")
	if every <= 0 {
		return cli.Exit(fmt.Sprintf("--interval must be positive, not %s", every), ExitUsage)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := c.App.Writer
	tty := isTerminal(out)
	var last, lastErr string
	for {
		cl, rctx, cancel := connFrom(ctx, c)
		ls, err := cl.List(rctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if msg := oneLine(err); msg != lastErr {
				fmt.Fprintf(c.App.ErrWriter, "vcctl: %s (asking again every %s)\n", printable(msg), every)
				lastErr = msg
			}
		default:
			lastErr = ""
			var buf bytes.Buffer
			_ = emitTo(&buf, c, ls, "", func(w *tabwriter.Writer) { leaseRows(w, ls) }) // into memory: cannot fail
			if buf.String() != last {
				last = buf.String()
				if tty {
					fmt.Fprintf(out, "\033[H\033[2J%s  every %s\n\n", time.Now().Format(time.DateTime), every)
				} else if c.String("output") == "table" {
					fmt.Fprintf(out, "# %s\n", time.Now().Format(time.DateTime))
				}
				io.WriteString(out, last)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// isTerminal reports whether w is a terminal (a tty, not a file or pipe).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// progress is one line on stderr that says how far a long operation got,
// drawn only on a terminal so logs and pipes stay clean.
type progress struct {
	mu sync.Mutex
	w  io.Writer // nil: not a terminal
	on bool
}

// A waiting operation shows its line once it took progressAfter, and
// refreshes it every progressTick.
var (
	progressAfter = time.Second
	progressTick  = 250 * time.Millisecond
)

func newProgress(stderr io.Writer) *progress {
	if !isTerminal(stderr) {
		return &progress{}
	}
	return &progress{w: stderr}
}

func (p *progress) set(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K"+format, args...)
	p.on = true
}

// done clears the line before the result is printed.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
		p.on = false
	}
}

// waiting shows "what: N s" while an operation of unknown length runs (a
// commit or release waiting for the switches); stop clears it.
func (p *progress) waiting(what string) (stop func()) {
	if p.w == nil {
		return func() {}
	}
	start := time.Now()
	quit, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(progressTick)
		defer t.Stop()
		for {
			if d := time.Since(start); d >= progressAfter {
				p.set("%s: %s", what, d.Truncate(time.Second))
			}
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(quit)
		<-ended
		p.done()
	}
}
