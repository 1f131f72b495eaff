// Command switches runs the demo's switches with the project's own
// emulators, and changes them behind the lease server's back as an operator
// would, so that the demo's audit has drift to find. contrib/demo/demo.sh
// builds and runs it; it is no part of an installation.
//
//	switches serve CONFIG OUT
//	    runs every switch of CONFIG: an snmp one as snmpsimd serving the
//	    recorded Arista walk, Q-BRIDGE-MIB writable (internal/snmpsim); an
//	    ssh one as the emulator of its dialect on its address, with its
//	    username and password (switchdrv/sshemu). Writes OUT: CONFIG with
//	    the agent's address and the emulators' known_hosts filled in (and
//	    that file beside OUT), then runs until SIGINT or SIGTERM.
//	switches change CONFIG SWITCH VLAN [+PORT|-PORT]...
//	    adds (+) or removes (-) ports of a VLAN on a switch of CONFIG,
//	    through the switch's own driver, not through the lease server.
package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/snmpsim"
	"github.com/virtcloud/virtcloud/switchdrv"
	"github.com/virtcloud/virtcloud/switchdrv/snmp"
	"github.com/virtcloud/virtcloud/switchdrv/ssh"
	"github.com/virtcloud/virtcloud/switchdrv/sshemu"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("switches: ")
	switch {
	case len(os.Args) == 4 && os.Args[1] == "serve":
		serve(os.Args[2], os.Args[3])
	case len(os.Args) >= 5 && os.Args[1] == "change":
		if err := change(os.Args[2], os.Args[3], os.Args[4], os.Args[5:]); err != nil {
			log.Fatal(err)
		}
	default:
		log.Fatal("usage: switches serve CONFIG OUT | switches change CONFIG SWITCH VLAN [+PORT|-PORT]...")
	}
}

// lifetime stands in for the testing.TB that snmpsim.Start was written
// for: it keeps the agent's clean-ups until the demo ends. Start calls only
// the methods defined here.
type lifetime struct {
	testing.TB
	cleanups []func()
}

func (l *lifetime) Helper()          {}
func (l *lifetime) Cleanup(f func()) { l.cleanups = append(l.cleanups, f) }
func (l *lifetime) Fatalf(format string, args ...any) {
	l.end()
	log.Fatalf(format, args...)
}

func (l *lifetime) end() {
	for i := len(l.cleanups) - 1; i >= 0; i-- {
		l.cleanups[i]()
	}
}

func serve(in, out string) {
	cfg, err := config.Load(in)
	if err != nil {
		log.Fatal(err)
	}
	text, err := os.ReadFile(in)
	if err != nil {
		log.Fatal(err)
	}
	life := &lifetime{}
	kh := filepath.Join(filepath.Dir(out), "known_hosts")
	var keys strings.Builder
	for _, name := range slices.Sorted(maps.Keys(cfg.Switches)) {
		sw := cfg.Switches[name]
		switch set := sw.Settings.(type) {
		case *snmp.Config:
			agent := snmpsim.Start(life, snmpsim.Options{Recording: snmpsim.Arista, Community: set.Community.Reveal()})
			text = fill(life, text, name, "address", agent.Addr)
		case *ssh.Config:
			e, err := sshemu.Start(sshemu.Config{Dialect: set.Dialect, Hostname: name, User: set.Username, Password: set.Password.Reveal(), Listen: sw.Address})
			if err != nil {
				life.Fatalf("%s: %v", name, err)
			}
			life.Cleanup(e.Close)
			keys.WriteString(e.KnownHostsLine() + "\n")
			text = fill(life, text, name, "known_hosts", kh)
		}
	}
	if err := os.WriteFile(kh, []byte(keys.String()), 0o600); err != nil {
		life.Fatalf("%v", err)
	}
	// Written whole, last: the demo waits for this file.
	if err := os.WriteFile(out+".tmp", text, 0o600); err != nil {
		life.Fatalf("%v", err)
	}
	if err := os.Rename(out+".tmp", out); err != nil {
		life.Fatalf("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	<-ctx.Done()
	stop()
	life.end()
}

// fill sets key's value in the table [switches.NAME] of a configuration's
// text: the first `key = "..."` line after the table's header.
func fill(life *lifetime, text []byte, name, key, value string) []byte {
	header := "[switches." + name + "]"
	i := bytes.Index(text, []byte(header))
	var loc []int
	if i >= 0 {
		loc = regexp.MustCompile(`(?m)^` + key + ` = "[^"]*"`).FindIndex(text[i+len(header):])
	}
	if loc == nil {
		life.Fatalf("%s: no %s line to fill in", header, key)
	}
	at := i + len(header)
	return slices.Concat(text[:at+loc[0]], []byte(fmt.Sprintf("%s = %q", key, value)), text[at+loc[1]:])
}

func change(cfgFile, name, vlan string, ports []string) error {
	cfg, err := config.Load(cfgFile)
	if err != nil {
		return err
	}
	sw := cfg.Switches[name]
	if sw == nil {
		return fmt.Errorf("%s: no switch %q", cfgFile, name)
	}
	vid, err := strconv.Atoi(vlan)
	if err != nil || vid < 1 || vid > 4094 {
		return fmt.Errorf("VLAN %q: not a VLAN ID (1-4094)", vlan)
	}
	c := switchdrv.Change{VLAN: vid, Name: fmt.Sprintf("by-hand-%d", vid)}
	for _, p := range ports {
		switch {
		case strings.HasPrefix(p, "+"):
			c.Add = append(c.Add, p[1:])
		case strings.HasPrefix(p, "-"):
			c.Remove = append(c.Remove, p[1:])
		default:
			return fmt.Errorf("port %q: write +PORT to add it, -PORT to remove it", p)
		}
	}
	drv, err := switchdrv.Open(sw, switchdrv.Options{Name: name + "-by-hand"})
	if err != nil {
		return err
	}
	defer func() { _ = drv.Close() }() // the work is done or failed by now
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return drv.Apply(ctx, c)
}
