//go:build torquetest || openpbstest

// The cases every PBS-family manager (Torque, OpenPBS) must pass with the
// hooks installed, run against the real daemons of ../shared/peers by
// scripts/phases/52-torque.sh and 54-openpbs.sh.

package hooks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/hooks/spool"
	"github.com/virtcloud/virtcloud/hooks/torque"
	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/client"
)

// pbsJob is one job the cases submit, as pbsuser.
type pbsJob struct {
	name     string // unique per run: the output files are named by it
	request  string // the request string ("": an ordinary job)
	nodes    int    // hosts (0: one)
	walltime string // HH:MM:SS ("": 00:10:00)
	script   string
	// resource: the request as a custom resource (OpenPBS -l vcluster=...).
	resource bool
}

// pbsManager is what the cases need of one manager.
type pbsManager interface {
	// hosts are the compute hosts as the lease server knows them.
	hosts() []string
	submit(t *testing.T, j pbsJob) string
	// status is the job's state letter and its full qstat -f; "" for a
	// job the server does not know.
	status(t *testing.T, id string) (state, full string)
	finished(state string) bool
	// starts is how many times the job was started (0 for none).
	starts(full string) int
	del(t *testing.T, id string)
	// output is what the job's user finds of it: its stdout and stderr.
	output(t *testing.T, j pbsJob) string
	// offline is the note or comment of a compute host taken out of
	// scheduling ("" when it is schedulable); online brings every host back.
	offline(t *testing.T, host string) string
	online(t *testing.T)
	// prelude is what a job script runs first to have its network in its
	// environment ("" when the manager puts it there).
	prelude() string
	// shown checks that the job learnt its network: the message line in
	// its output, or the environment variables.
	shown(t *testing.T, j pbsJob, id string, l *client.Lease)
	// decided checks that the hooks left their decision about an ordinary
	// job where an administrator looks (OpenPBS: the MoM log).
	decided(t *testing.T, id string)
	// spoolDir is the hooks' spool on the host one-node jobs run on;
	// hostSpool that of one compute host.
	spoolDir() string
	hostSpool(host string) string
	periodic(t *testing.T)
	// config is the hooks' configuration file on the compute hosts.
	config() string
}

type pbsCases struct {
	*rig
	m pbsManager
}

// runPBSCases runs every case: the quick ones side by side with the
// walltime case, then those that stop the lease server, then the broken
// node configuration.
func runPBSCases(t *testing.T, r *rig, m pbsManager) {
	c := &pbsCases{rig: r, m: m}
	t.Run("cases", func(t *testing.T) {
		t.Run("walltime", func(t *testing.T) { t.Parallel(); c.walltime(t) })
		t.Run("others", func(t *testing.T) {
			t.Parallel()
			t.Run("group", func(t *testing.T) {
				cases := map[string]func(*testing.T){"normal": c.normal, "qdel-running": c.qdelRunning,
					"qdel-in-prologue": c.qdelInPrologue, "malformed": c.malformed, "switch-unreachable": c.switchUnreachable,
					"two-nodes": c.twoNodes}
				for name, f := range cases {
					t.Run(name, func(t *testing.T) { t.Parallel(); f(t) })
				}
			})
			// These stop the lease server: they run after the quick ones.
			t.Run("server-down", c.serverDown)
		})
	})
	if !t.Failed() {
		t.Run("broken-node-config", c.brokenConfig)
	}
	for _, h := range m.hosts() {
		if note := m.offline(t, h); note != "" && !t.Failed() {
			t.Errorf("host %s ended offline: %s", h, note)
		}
	}
}

func (c *pbsCases) waitFinished(t *testing.T, id string, limit time.Duration) string {
	t.Helper()
	var full string
	waitFor(t, "job "+id+" to finish", limit, func() bool {
		var st string
		st, full = c.m.status(t, id)
		return c.m.finished(st)
	})
	return full
}

// ran returns the host a one-node cluster job's lease covers.
func (c *pbsCases) ran(t *testing.T, id string) *client.Lease {
	t.Helper()
	l := c.waitLease(t, id, 60*time.Second, api.StateActive)
	return c.activeOn(t, id, l.Hosts...)
}

// once checks that a lease was granted once and ended once.
func (c *pbsCases) once(t *testing.T, id string) {
	t.Helper()
	h := c.history(t, id)
	if n, e := count(h, "create"), count(h, "release", "expire"); n != 1 || e != 1 {
		t.Fatalf("job %s: %d grants and %d ends, want one of each: %+v", id, n, e, h)
	}
}

func (c *pbsCases) normal(t *testing.T) {
	j := pbsJob{name: "vc-normal", request: "vcluster:name=normal", resource: true, script: c.m.prelude() + "echo VLAN=$VIRTCLOUD_VLAN BRIDGE=$VIRTCLOUD_BRIDGE LEASE=$VIRTCLOUD_LEASE; sleep 4"}
	id := c.m.submit(t, j)
	l := c.ran(t, id)
	if len(l.Hosts) != 1 || l.Attributes["name"] != "normal" {
		t.Errorf("lease %+v", l)
	}
	c.waitFinished(t, id, 60*time.Second)
	c.released(t, id, l)
	c.once(t, id)
	c.m.shown(t, j, id, l)
}

func (c *pbsCases) qdelRunning(t *testing.T) {
	id := c.m.submit(t, pbsJob{name: "vc-qdel", request: "vcluster", script: "sleep 300"})
	l := c.ran(t, id)
	c.m.del(t, id)
	c.waitFinished(t, id, 60*time.Second)
	c.released(t, id, l)
	c.once(t, id)
}

// qdel while the prologue waits for a commit that takes seconds (the
// "slow" switch): the lease must not outlive the job.
func (c *pbsCases) qdelInPrologue(t *testing.T) {
	id := c.m.submit(t, pbsJob{name: "vc-qdelpro", request: "vcluster:services=slow", script: "echo must not run"})
	c.waitLease(t, id, 60*time.Second, api.StateCommitting)
	c.m.del(t, id)
	c.waitFinished(t, id, 60*time.Second)
	l := c.waitLease(t, id, 60*time.Second, api.StateReleased, api.StateFailed)
	for _, h := range l.Hosts {
		if c.onSwitch(t, l.VLAN, h) {
			t.Fatalf("VLAN %d left on %s's port", l.VLAN, h)
		}
	}
}

// The walltime ends the lease by itself: the lease's TTL is the walltime
// plus a short grace, and the server's reaper ends it then, whatever the
// manager does. The manager's walltime kill comes at a limit poll of its own
// timing, and its epilogue may come before the TTL: the host's record of the
// job is given a token the lease does not have, so that the epilogue's
// release is refused as stale (which it takes as done) and only the reaper
// can end the lease.
func (c *pbsCases) walltime(t *testing.T) {
	id := c.m.submit(t, pbsJob{name: "vc-walltime", request: "vcluster", walltime: "00:00:06", script: "sleep 300"})
	l := c.ran(t, id)
	sp := spool.Dir{Path: c.m.spoolDir()}
	rec, _, _ := sp.GetJob(id)
	waitFor(t, "the prologue's record of "+id, 30*time.Second, func() bool {
		var found bool
		rec, found, _ = sp.GetJob(id)
		return found
	})
	rec.Token += 1000
	if err := sp.PutJob(rec); err != nil {
		t.Fatal(err)
	}
	end := c.released(t, id, l)
	// Not ended before its expiry; no bound after it: the server-down case,
	// which runs meanwhile, may stop the server (and its reaper) just then.
	if end.Reason != "expired" || end.UpdatedAt.Before(l.ExpiresAt) {
		t.Errorf("lease ended by %q at %s, want expired at or after its expiry %s", end.Reason, end.UpdatedAt, l.ExpiresAt)
	}
	c.waitFinished(t, id, 120*time.Second)
	c.once(t, id)
}

func (c *pbsCases) malformed(t *testing.T) {
	j := pbsJob{name: "vc-malformed", request: "vcluster:publish=sideways", script: "echo must not run"}
	id := c.m.submit(t, j)
	full := c.waitFinished(t, id, 60*time.Second)
	out := c.m.output(t, j)
	if strings.Contains(out, "must not run") {
		t.Fatal("the job ran")
	}
	mustContain(t, "what the user sees", out+full, `publish "sideways": must be none, tunnel or direct`)
	if _, err := c.lease(id); client.Code(err) != api.CodeNotFound {
		t.Fatalf("a malformed request got a lease: %v", err)
	}
}

// A switch that does not answer: the job is requeued, the node stays up,
// and the job runs once the switch answers again.
func (c *pbsCases) switchUnreachable(t *testing.T) {
	c.flaky.drop.Store(true)
	j := pbsJob{name: "vc-flaky", request: "vcluster:services=flaky", script: "sleep 3; echo ran after the switch came back"}
	id := c.m.submit(t, j)
	waitFor(t, "a failed start of "+id, 60*time.Second, func() bool {
		l, err := c.lease(id)
		return err == nil && l.FailedStarts >= 1
	})
	c.flaky.drop.Store(false)
	for _, h := range c.m.hosts() {
		if note := c.m.offline(t, h); note != "" {
			t.Fatalf("host %s offline after a switch fault: %s", h, note)
		}
	}
	l := c.ran(t, id)
	full := c.waitFinished(t, id, 60*time.Second)
	c.released(t, id, l)
	if n := c.m.starts(full); n < 2 {
		t.Errorf("job started %d times, want a requeue first", n)
	}
	mustContain(t, "job output", c.m.output(t, j), "ran after the switch came back")
}

// Two hosts: the sister's hook runs first (Torque) or alongside (OpenPBS);
// one lease covers both, set up on both ports and on both hosts (each
// host's hooks keep the job's record while it runs), released once.
func (c *pbsCases) twoNodes(t *testing.T) {
	id := c.m.submit(t, pbsJob{name: "vc-two", request: "vcluster:name=two", nodes: 2, script: "sleep 8"})
	l := c.activeOn(t, id, c.m.hosts()...)
	for _, h := range c.m.hosts() {
		waitFor(t, fmt.Sprintf("host %s's record of %s with VLAN %d", h, id, l.VLAN), 30*time.Second, func() bool {
			rec, found, _ := spool.Dir{Path: c.m.hostSpool(h)}.GetJob(id)
			return found && rec.VLAN == l.VLAN
		})
	}
	c.waitFinished(t, id, 60*time.Second)
	c.released(t, id, l)
	c.once(t, id)
	for _, h := range c.m.hosts() {
		waitFor(t, "host "+h+" to remove the record of "+id, 30*time.Second, func() bool {
			_, found, _ := spool.Dir{Path: c.m.hostSpool(h)}.GetJob(id)
			return !found
		})
	}
}

// The lease server down: an ordinary job runs at once (its hooks never
// ask the server); a cluster job is requeued with a reason the user can
// read, then aborted after max_failed_starts; a running cluster job ends and
// its release is queued, then delivered by vc-periodic.
func (c *pbsCases) serverDown(t *testing.T) {
	running := c.m.submit(t, pbsJob{name: "vc-downend", request: "vcluster", script: "sleep 300"})
	l := c.ran(t, running)
	c.srv.stop()
	restarted := false
	defer func() {
		if !restarted {
			c.srv.start(t)
		}
	}()
	ord := pbsJob{name: "vc-ordinary", script: "echo hello from an ordinary job"}
	oid := c.m.submit(t, ord)
	clu := pbsJob{name: "vc-downstart", request: "vcluster", script: "echo must not run"}
	cid := c.m.submit(t, clu)
	c.m.del(t, running)

	full := c.waitFinished(t, oid, 60*time.Second)
	if n := c.m.starts(full); n != 1 {
		t.Errorf("ordinary job started %d times", n)
	}
	if out := c.m.output(t, ord); strings.TrimSpace(out) != "hello from an ordinary job" {
		t.Errorf("ordinary job output %q", out)
	}
	c.m.decided(t, oid)
	full = c.waitFinished(t, cid, 90*time.Second)
	out := c.m.output(t, clu)
	if strings.Contains(out, "must not run") {
		t.Fatal("the cluster job ran without its network")
	}
	mustContain(t, "what the user sees of the aborted job", out+full, "max_failed_starts")
	c.waitFinished(t, running, 60*time.Second)
	waitFor(t, "queued release of "+running, 60*time.Second, func() bool { return spoolHas(c.m.spoolDir(), "release", running) })

	c.srv.start(t)
	restarted = true
	if l, err := c.lease(running); err != nil || l.State != api.StateActive {
		t.Fatalf("lease before vc-periodic: %+v %v", l, err)
	}
	c.m.periodic(t)
	c.released(t, running, l)
	if spoolHas(c.m.spoolDir(), "release", running) {
		t.Error("the release is still queued after vc-periodic")
	}
	for _, id := range []string{oid, cid} {
		if _, err := c.lease(id); client.Code(err) != api.CodeNotFound {
			t.Errorf("job %s: lease or error %v, want none", id, err)
		}
	}
}

// A node whose configuration others may read takes itself out of
// scheduling with the reason, yet runs an ordinary job; a cluster job
// waits until the configuration is fixed and the node is back.
func (c *pbsCases) brokenConfig(t *testing.T) {
	cfg := c.m.config()
	st, err := os.Stat(cfg)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(cfg, 0o644)
	defer os.Chmod(cfg, st.Mode().Perm())
	ord := pbsJob{name: "vc-brokenord", script: "echo ordinary on a broken node"}
	oid := c.m.submit(t, ord)
	full := c.waitFinished(t, oid, 60*time.Second)
	if n := c.m.starts(full); n != 1 {
		t.Errorf("ordinary job on a broken node started %d times", n)
	}
	mustContain(t, "ordinary job output", c.m.output(t, ord), "ordinary on a broken node")
	var note string
	for _, h := range c.m.hosts() {
		if note = c.m.offline(t, h); note != "" {
			break
		}
	}
	mustContain(t, "offline note", note, "virtcloud:", "readable or writable by others")
	clu := pbsJob{name: "vc-brokenclu", request: "vcluster", script: "sleep 3; echo cluster after the fix"}
	cid := c.m.submit(t, clu)
	time.Sleep(3 * time.Second)
	if st, _ := c.m.status(t, cid); c.m.finished(st) {
		t.Fatalf("cluster job finished on a broken node")
	}
	os.Chmod(cfg, st.Mode().Perm())
	c.m.online(t)
	l := c.ran(t, cid)
	c.waitFinished(t, cid, 60*time.Second)
	c.released(t, cid, l)
	mustContain(t, "cluster job output", c.m.output(t, clu), "cluster after the fix")
}

// spoolHas reports whether a file exists in a spool.
func spoolHas(spool, sub, job string) bool {
	_, err := os.Stat(filepath.Join(spool, sub, job+".json"))
	return !errors.Is(err, os.ErrNotExist)
}

// readOut reads a job's output files, if the manager delivered them.
func readOut(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		data, _ := os.ReadFile(p)
		b.Write(data)
	}
	return b.String()
}

// installFromReadme runs hooks/README.md's lines under the headings with
// the system paths moved, leaving out the build (the phase's), systemd's
// lines (the test runs vc-periodic itself) and what skip says.
func installFromReadme(t *testing.T, paths map[string]string, skip func(line string) bool, headings ...string) {
	t.Helper()
	for _, heading := range headings {
		for _, block := range readmeBlocks(t, heading) {
			for _, line := range block {
				if line == "make build" || strings.Contains(line, "systemd") || strings.HasPrefix(line, "systemctl") || skip(line) {
					continue
				}
				shell(t, relocate(line, paths))
			}
		}
	}
}

// writeScript writes the job's script into the output directory; it
// returns the script's path and the job's walltime.
func (r *rig) writeScript(t *testing.T, j pbsJob) (script, walltime string) {
	t.Helper()
	script = filepath.Join(r.outDir(), j.name+".sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+j.script+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if j.walltime == "" {
		return script, "00:10:00"
	}
	return script, j.walltime
}

// jobOutput is what the manager delivered of the job's stdout and stderr.
func (r *rig) jobOutput(j pbsJob) string {
	p := filepath.Join(r.outDir(), j.name)
	return readOut(p+".o", p+".e")
}

// qstatInt is a numeric field of `qstat -f` (0 when absent).
func qstatInt(full, field string) int {
	v, _ := torque.QstatField(full, field)
	n, _ := strconv.Atoi(v)
	return n
}

// nodeOut is "state: note" for a node that pbsnodes shows offline or
// down, "" for a node in service; noteField is the manager's name for the
// administrator's note.
func nodeOut(pbsnodes []byte, noteField string) string {
	st, _ := torque.QstatField(string(pbsnodes), "state")
	if !strings.Contains(st, "offline") && !strings.Contains(st, "down") {
		return ""
	}
	note, _ := torque.QstatField(string(pbsnodes), noteField)
	return st + ": " + note
}

// appendLines appends lines to a daemon's configuration file.
func appendLines(t *testing.T, file string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		fmt.Fprintln(f, l)
	}
}

// hup sends SIGHUP to the daemon whose pid the file holds: it rereads its
// configuration.
func hup(pidFile string) {
	b, _ := os.ReadFile(pidFile)
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
		syscall.Kill(pid, syscall.SIGHUP)
	}
}

// logTailsOnFailure logs the last n lines of every file the patterns match
// when the test has failed, at its cleanup.
func logTailsOnFailure(t *testing.T, n int, patterns ...string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, p := range patterns {
			files, _ := filepath.Glob(p)
			for _, f := range files {
				b, _ := os.ReadFile(f)
				t.Logf("--- %s (tail)\n%s", f, tail(string(b), n))
			}
		}
	})
}
