//go:build openpbstest

// The real-OpenPBS test: scripts/phases/54-openpbs.sh starts the OpenPBS
// 23.06 build of ../shared/peers (installed at /tmp/openpbs, in network
// namespace "opbs") with the MoM's environment naming this test's hooks, and
// runs this test inside the namespace (/tmp/openpbs/nsrun), as root, with
// `-run TestRealOpenPBS`. The hook is installed from hooks/README.md's lines.
// The phase also starts a second MoM, node $(hostname)-2, whose hooks'
// configuration (VIRTCLOUD_CONFIG=<work>/etc2/virtcloud.toml) has its own
// spool: a second compute host, for jobs with a sister node.

package hooks

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/hooks/torque"
	"github.com/virtcloud/virtcloud/internal/client"
)

const openpbsHome = "/tmp/openpbs" // compiled into the build

type realOpenPBS struct {
	r     *rig
	names []string // the primary MoM's host first
	bin   string
	cfg   string
	spool string
	// spool2 is the second MoM's spool.
	spool2 string
}

func TestRealOpenPBS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the OpenPBS test runs qmgr and pbsnodes as root")
	}
	work := os.Getenv("VIRTCLOUD_WORK")
	if work == "" {
		t.Fatal("VIRTCLOUD_WORK names the directory the MoM's VIRTCLOUD_BIN and VIRTCLOUD_CONFIG are in (scripts/phases/54-openpbs.sh sets it)")
	}
	host, _ := os.Hostname()
	m := &realOpenPBS{names: []string{host, host + "-2"}, bin: filepath.Join(work, "sbin"), cfg: filepath.Join(work, "etc", "virtcloud.toml"),
		spool: filepath.Join(work, "spool"), spool2: filepath.Join(work, "spool2")}
	var hosts []rigHost
	for i, n := range m.names {
		hosts = append(hosts, rigHost{name: n, port: fmt.Sprintf("Ethernet%d", i+1)})
	}
	m.r = newRigIn(t, work, "node", hosts)
	m.install(t)
	// The second host's copy of the configuration, with its own spool.
	os.MkdirAll(filepath.Join(work, "etc2"), 0o755)
	if err := os.WriteFile(filepath.Join(work, "etc2", "virtcloud.toml"), []byte(m.r.hooksConfig(m.spool2, "vcluster")), 0o600); err != nil {
		t.Fatal(err)
	}
	runPBSCases(t, m.r, m)
}

// install follows hooks/README.md: "## Install" and "### OpenPBS / PBS Pro",
// with the system paths moved to where the MoM's environment points.
func (m *realOpenPBS) install(t *testing.T) {
	w := m.r.work
	src := filepath.Join(w, "virtcloud.toml")
	os.WriteFile(src, []byte(m.r.hooksConfig(m.spool, "vcluster")), 0o600)
	paths := map[string]string{
		"/usr/local/sbin":               m.bin,
		"/var/spool/virtcloud":          m.spool,
		"/etc/virtcloud/virtcloud.toml": m.cfg,
		" virtcloud.toml ":              " " + src + " ",
	}
	os.MkdirAll(m.bin, 0o755)
	installFromReadme(t, paths, func(string) bool { return false }, "## Install", "### OpenPBS / PBS Pro")
	// Limit polls at most 20 s apart instead of 120: the walltime case's
	// job is killed sooner. (An unknown name makes the MoM exit on HUP.)
	appendLines(t, filepath.Join(openpbsHome, "home", "mom_priv", "config"), "$min_check_poll 5", "$max_check_poll 20")
	hup(filepath.Join(openpbsHome, "home", "mom_priv", "mom.lock"))
	logTailsOnFailure(t, 40, filepath.Join(openpbsHome, "home/mom_logs/*"), filepath.Join(openpbsHome, "home/server_logs/*"),
		filepath.Join(w, "mom2", "mom_logs", "*"))
}

func (m *realOpenPBS) hosts() []string { return m.names }
func (m *realOpenPBS) config() string  { return m.cfg }

func (m *realOpenPBS) submit(t *testing.T, j pbsJob) string {
	t.Helper()
	out := m.r.outDir()
	script, wall := m.r.writeScript(t, j)
	// A one-node job runs on the first host, whose configuration, spool
	// and MoM log the cases look at.
	sel := "select=1:ncpus=1:host=" + m.names[0]
	if j.nodes > 1 {
		sel = fmt.Sprintf("select=%d:ncpus=1", j.nodes)
	}
	args := []string{"-u", "pbsuser", "--", "qsub", "-N", j.name, "-l", sel,
		"-l", "place=scatter", "-l", "walltime=" + wall, "-o", filepath.Join(out, j.name+".o"), "-e", filepath.Join(out, j.name+".e")}
	switch {
	case j.request == "":
	case j.resource:
		// The custom resource: the server's queuejob hook copies it into
		// the job variable the MoM sees.
		args = append(args, "-l", "vcluster="+strings.TrimPrefix(strings.TrimPrefix(j.request, "vcluster"), ":"))
	default:
		args = append(args, "-v", "VIRTCLOUD_REQUEST="+j.request)
	}
	cmd := exec.Command("runuser", append(args, script)...)
	cmd.Dir = out
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("qsub %s: %v\n%s", j.name, err, b)
	}
	return strings.TrimSpace(string(b))
}

func (m *realOpenPBS) status(t *testing.T, id string) (string, string) {
	out, err := exec.Command("qstat", "-xf", id).Output()
	if err != nil {
		return "", ""
	}
	st, _ := torque.QstatField(string(out), "job_state")
	return st, string(out)
}

func (m *realOpenPBS) finished(state string) bool { return state == "F" || state == "" }

func (m *realOpenPBS) starts(full string) int { return qstatInt(full, "run_count") }

// del asks the server to delete the job. OpenPBS's qdel may wait on the
// MoM for minutes when the job is in a hook (seen with a prologue waiting on
// a slow commit) although the server took the request; what the cases check
// is the job's and the lease's end, so the client gets 20 s.
func (m *realOpenPBS) del(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "qdel", id).CombinedOutput()
	switch {
	case ctx.Err() != nil:
		t.Logf("qdel %s: no answer within 20 s; the job's end is checked next", id)
	case err != nil:
		t.Fatalf("qdel %s: %v\n%s", id, err, out)
	}
}

func (m *realOpenPBS) output(t *testing.T, j pbsJob) string { return m.r.jobOutput(j) }

func (m *realOpenPBS) offline(t *testing.T, host string) string {
	out, _ := exec.Command("pbsnodes", host).Output()
	return nodeOut(out, "comment")
}

// online: the broken-config case takes only the first host out (its
// configuration is the one broken); pbsnodes -r answered "Unknown node" for
// the second MoM's node.
func (m *realOpenPBS) online(t *testing.T) { run(t, "pbsnodes", "-r", m.names[0]) }

func (m *realOpenPBS) prelude() string { return "" }

// shown: OpenPBS shows no hook output to the job; execjob_launch puts the
// network into the job's environment.
func (m *realOpenPBS) shown(t *testing.T, j pbsJob, id string, l *client.Lease) {
	want := fmt.Sprintf("VLAN=%d BRIDGE= LEASE=%s", l.VLAN, id)
	mustContain(t, "job output", m.output(t, j), want)
}

// decided: the hook logs its decision about every job in the MoM log.
func (m *realOpenPBS) decided(t *testing.T, id string) {
	files, _ := filepath.Glob(filepath.Join(openpbsHome, "home", "mom_logs", "*"))
	mustContain(t, "MoM log", readOut(files...), "virtcloud: job "+id+" is ordinary")
}

func (m *realOpenPBS) spoolDir() string { return m.spool }

func (m *realOpenPBS) hostSpool(host string) string {
	if host == m.names[0] {
		return m.spool
	}
	return m.spool2
}

func (m *realOpenPBS) periodic(t *testing.T) { periodic(t, m.bin, m.cfg) }
