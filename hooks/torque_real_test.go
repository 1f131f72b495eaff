//go:build torquetest

// The real-Torque test: scripts/phases/52-torque.sh runs it as root with
// `go test -tags torquetest -run TestRealTorque`, after the Torque 6.1 build
// of ../shared/peers was installed at /tmp/pbs. Two moms on this host
// (MULTIMOM=1: nodes $(hostname) and $(hostname)-2), the hooks installed from
// hooks/README.md's lines.

package hooks

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/hooks/torque"
	"github.com/virtcloud/virtcloud/internal/client"
)

const torqueHome = "/tmp/pbs" // compiled into the build

type realTorque struct {
	r     *rig
	names []string
	bin   string // the hooks' binaries, as README installs them
	cfg   string
	spool string
}

func TestRealTorque(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the Torque test starts pbs_server and two moms: run it as root")
	}
	peers := os.Getenv("VIRTCLOUD_PEERS")
	if peers == "" {
		t.Fatal("VIRTCLOUD_PEERS names ../shared/peers (scripts/phases/52-torque.sh sets it)")
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	m := &realTorque{names: []string{host, host + "-2"}}
	m.r = newRig(t, "vc-torque-test-", "node", []rigHost{{name: host, port: "Ethernet1"}, {name: host + "-2", port: "Ethernet2"}})
	m.install(t)
	m.start(t, peers)
	runPBSCases(t, m.r, m)
}

// install follows hooks/README.md: "## Install" and "### Torque", with the
// system paths moved into the test's directory.
func (m *realTorque) install(t *testing.T) {
	w := m.r.work
	m.bin, m.spool, m.cfg = filepath.Join(w, "sbin"), filepath.Join(w, "spool"), filepath.Join(w, "etc", "virtcloud.toml")
	src := filepath.Join(w, "virtcloud.toml")
	os.WriteFile(src, []byte(m.r.hooksConfig(m.spool, "vcluster")), 0o600)
	paths := map[string]string{
		"/var/spool/torque":             torqueHome + "/spool",
		"/usr/local/sbin":               m.bin,
		"/var/spool/virtcloud":          m.spool,
		"/etc/virtcloud/virtcloud.toml": m.cfg,
		" virtcloud.toml ":              " " + src + " ",
		"PBS_HOME=":                     "PREFIX=" + w + " PBS_HOME=",
	}
	os.MkdirAll(m.bin, 0o755)
	// presetup is optional.
	installFromReadme(t, paths, func(line string) bool { return strings.Contains(line, "presetup") }, "## Install", "### Torque")
	for _, f := range []string{"prologue", "prologue.parallel", "epilogue", "epilogue.parallel", "vc-hook"} {
		if _, err := os.Stat(filepath.Join(torqueHome, "spool", "mom_priv", f)); err != nil {
			t.Fatalf("README's lines did not install mom_priv/%s: %v", f, err)
		}
	}
}

// start writes the moms' environment as README says (PATH reaching qstat
// and pbsnodes; VIRTCLOUD_CONFIG) and mom_config.example's lines, and starts
// Torque afresh.
func (m *realTorque) start(t *testing.T, peers string) {
	envFile := filepath.Join(torqueHome, "spool", "pbs_environment")
	orig, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(envFile, orig, 0o644) })
	os.WriteFile(envFile, []byte(fmt.Sprintf("PATH=/bin:/usr/bin:%s/torque/bin\nLANG=C.UTF-8\nVIRTCLOUD_CONFIG=%s\n", torqueHome, m.cfg)), 0o644)
	start := exec.Command(filepath.Join(torqueHome, "start.sh"))
	start.Env = append(os.Environ(), "RESET=1", "MULTIMOM=1")
	t.Cleanup(func() {
		if out, err := exec.Command(filepath.Join(torqueHome, "stop.sh")).CombinedOutput(); err != nil {
			t.Logf("stop.sh: %v\n%s", err, out)
		}
	})
	logTailsOnFailure(t, 30, filepath.Join(torqueHome, "spool/mom_logs/*"), filepath.Join(torqueHome, "spool/server_logs/*"))
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("start.sh: %v\n%s", err, out)
	}
	// mom_config.example's lines (without the optional presetup), and a
	// limit poll of 20 s instead of 45: the walltime case's job is killed
	// sooner.
	example, err := os.ReadFile("../contrib/torque/mom_config.example")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(example), "\n") {
		if strings.HasPrefix(l, "$") && !strings.Contains(l, "presetup") {
			lines = append(lines, l)
		}
	}
	appendLines(t, filepath.Join(torqueHome, "spool", "mom_priv", "config"), append(lines, "$check_poll_time 20")...)
	for _, mom := range []string{"pbs_mom", "pbs_mom2"} {
		hup(filepath.Join(torqueHome, "run", mom+".pid"))
	}
}

func (m *realTorque) hosts() []string { return m.names }
func (m *realTorque) config() string  { return m.cfg }

func (m *realTorque) tool(name string) string {
	return filepath.Join(torqueHome, "torque", "bin", name)
}

func (m *realTorque) submit(t *testing.T, j pbsJob) string {
	t.Helper()
	out := m.r.outDir()
	script, wall := m.r.writeScript(t, j)
	res := fmt.Sprintf("nodes=%d,walltime=%s", max(j.nodes, 1), wall)
	if j.request != "" {
		res += ",other=" + j.request
	}
	cmd := exec.Command("runuser", "-u", "pbsuser", "--", m.tool("qsub"), "-N", j.name, "-l", res,
		"-o", filepath.Join(out, j.name+".o"), "-e", filepath.Join(out, j.name+".e"), script)
	cmd.Dir = out
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("qsub %s: %v\n%s", j.name, err, b)
	}
	return strings.TrimSpace(string(b))
}

func (m *realTorque) status(t *testing.T, id string) (string, string) {
	out, err := exec.Command(m.tool("qstat"), "-f", id).Output()
	if err != nil {
		return "", ""
	}
	st, _ := torque.QstatField(string(out), "job_state")
	return st, string(out)
}

func (m *realTorque) finished(state string) bool { return state == "C" || state == "" }

func (m *realTorque) starts(full string) int { return qstatInt(full, "start_count") }

func (m *realTorque) del(t *testing.T, id string) { run(t, m.tool("qdel"), id) }

func (m *realTorque) output(t *testing.T, j pbsJob) string { return m.r.jobOutput(j) }

func (m *realTorque) offline(t *testing.T, host string) string {
	out, _ := exec.Command(m.tool("pbsnodes"), host).Output()
	return nodeOut(out, "note")
}

func (m *realTorque) online(t *testing.T) {
	run(t, m.tool("pbsnodes"), append([]string{"-c"}, m.names...)...)
}

// prelude: a prologue cannot change the job's environment; the job reads
// the file the prologue wrote.
func (m *realTorque) prelude() string { return ". " + m.spool + "/env/$PBS_JOBID; " }

// shown: Torque puts the prologue's line in the job's output.
func (m *realTorque) shown(t *testing.T, j pbsJob, id string, l *client.Lease) {
	mustContain(t, "job output", m.output(t, j), fmt.Sprintf("virtcloud: job %s cluster VLAN %d", id, l.VLAN),
		fmt.Sprintf("VLAN=%d BRIDGE= LEASE=%s", l.VLAN, id))
}

// decided: Torque's hooks say nothing about an ordinary job.
func (m *realTorque) decided(t *testing.T, id string) {}

func (m *realTorque) spoolDir() string { return m.spool }

// hostSpool: both moms run on this machine with one configuration.
func (m *realTorque) hostSpool(host string) string { return m.spool }

func (m *realTorque) periodic(t *testing.T) {
	periodic(t, m.bin, m.cfg, "PATH=/usr/bin:/bin:"+torqueHome+"/torque/bin")
}
