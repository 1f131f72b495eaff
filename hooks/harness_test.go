package hooks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/hooks/gate"
	"github.com/virtcloud/virtcloud/internal/client"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/internal/hostjob"
	"github.com/virtcloud/virtcloud/internal/redistest"
)

// Binaries built once per test run, each when first needed: the real lease
// server, and vc-prologue / vc-epilogue for the end-to-end runs.
var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]error{}
)

func binary(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir == "" {
		d, err := os.MkdirTemp("", "vc-hooks-bin-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	// The Slurm phase runs after `make build` and names bin/ here.
	if dir := os.Getenv("VIRTCLOUD_TEST_BIN"); dir != "" {
		return filepath.Join(dir, name)
	}
	// vc-prologue and vc-epilogue hand cluster jobs to vc-hook beside them.
	names := []string{name}
	if name == "vc-prologue" || name == "vc-epilogue" {
		names = append(names, "vc-hook")
	}
	for _, name := range names {
		err, done := built[name]
		if !done {
			out, berr := exec.Command("go", "build", "-o", filepath.Join(buildDir, name), "github.com/virtcloud/virtcloud/cmd/"+name).CombinedOutput()
			if berr != nil {
				err = fmt.Errorf("go build %s: %v\n%s", name, berr, out)
			}
			built[name] = err
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(buildDir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

const (
	nodeSecret  = "node-secret-0123456789"
	adminSecret = "admin-secret-0123456789"
)

// leaseServer is a real leasesrv on loopback with its own redis-server.
type leaseServer struct {
	URL   string
	Admin *client.Client
	cfg   string
	cmd   *exec.Cmd
	log   *bytes.Buffer
	redis string
}

// serverConfig: one site, hosts nodeA and nodeB (alias nodeb.example.org)
// with no switch, so a commit needs no device.
func serverConfig(listen string) string {
	return fmt.Sprintf(`[server]
listen = %q
log_level = "debug"
[lease]
min_ttl = "1s"
grace = "5m"
[sites.brno]
vlans = ["100-109"]
[hosts.nodeA]
site = "brno"
[hosts.nodeB]
site = "brno"
aliases = ["nodeb.example.org"]
[hosts.ctl]
site = "brno"
[[tokens]]
name = "node"
secret = %q
role = "node"
[[tokens]]
name = "admin"
secret = %q
role = "admin"
`, listen, nodeSecret, adminSecret)
}

func startLeaseServer(t *testing.T) *leaseServer {
	t.Helper()
	binary(t, "leasesrv")
	r := redistest.Start(t)
	port := redistest.FreePort(t)
	s := &leaseServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), redis: r.URL}
	s.cfg = filepath.Join(t.TempDir(), "server.toml")
	if err := os.WriteFile(s.cfg, []byte(serverConfig(fmt.Sprintf("127.0.0.1:%d", port))), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Admin = client.New(s.URL, adminSecret)
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

func (s *leaseServer) start(t *testing.T) {
	t.Helper()
	s.log = &bytes.Buffer{}
	s.cmd = exec.Command(binary(t, "leasesrv"), "serve", "--config", s.cfg, "--redis", s.redis)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := s.Admin.Pools(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.stop()
			t.Fatalf("leasesrv did not answer: %v\n%s", err, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *leaseServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

func (s *leaseServer) lease(t *testing.T, job string) *client.Lease {
	t.Helper()
	l, err := s.Admin.Get(context.Background(), job)
	if err != nil {
		t.Fatalf("get lease %s: %v", job, err)
	}
	return l
}

// node is one host's hook setup: its config file, spool, fake host
// networking and a PATH with fake scheduler tools.
type node struct {
	name   string
	cfg    string
	spool  string
	bin    string // directory of fake tools, first on PATH
	host   *fakeHost
	server string
}

type nodeOpts struct {
	server string // lease server URL ("" : a closed port)
	dom0   bool   // give the node a [dom0] table
	budget string
	mode   os.FileMode
}

func newNode(t *testing.T, name string, o nodeOpts) *node {
	t.Helper()
	dir := t.TempDir()
	n := &node{name: name, cfg: filepath.Join(dir, "virtcloud.toml"), spool: filepath.Join(dir, "spool"),
		bin: filepath.Join(dir, "bin"), host: &fakeHost{jobs: map[string]hostjob.Job{}}, server: o.server}
	if n.server == "" {
		n.server = fmt.Sprintf("http://127.0.0.1:%d", redistest.FreePort(t))
	}
	if o.budget == "" {
		o.budget = "20s"
	}
	// Built binaries leave their decisions where the gate looks.
	t.Cleanup(func() { os.Remove(gate.CacheFile(gate.DefaultCacheDir, n.cfg)) })
	body := fmt.Sprintf("[hooks]\nserver = %q\ntoken = %q\nqueues = [\"vcluster\"]\nhost = %q\nbudget = %q\nspool_dir = %q\nmax_failed_starts = 3\n",
		n.server, nodeSecret, name, o.budget, n.spool)
	if o.dom0 {
		body += fmt.Sprintf("[dom0]\ntrunk = \"eth0\"\nstate_dir = %q\n", filepath.Join(dir, "state"))
	}
	if o.mode == 0 {
		o.mode = 0o600
	}
	if err := os.WriteFile(n.cfg, []byte(body), o.mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(n.cfg, o.mode)
	if err := os.MkdirAll(n.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return n
}

// tool installs a fake scheduler command (qstat, scontrol, scancel,
// pbsnodes) as a shell script.
func (n *node) tool(t *testing.T, name, script string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(n.bin, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// cacheDir is where this node's hooks leave decisions for the gate.
func (n *node) cacheDir() string { return filepath.Join(filepath.Dir(n.cfg), "gate-cache") }

// run calls the hook function the way main does, with env as the whole
// environment.
func (n *node) run(p Program, args []string, env map[string]string) result {
	e := map[string]string{"VIRTCLOUD_CONFIG": n.cfg, "PATH": n.bin + ":/bin:/usr/bin"}
	for k, v := range env {
		e[k] = v
	}
	var out, errb bytes.Buffer
	code := runHook(p, Env{Args: args, Getenv: func(k string) string { return e[k] }, Stdout: &out, Stderr: &errb,
		OpenHost: n.host.open, Hostname: func() (string, error) { return n.name, nil }, CacheDir: n.cacheDir()})
	return result{code, out.String(), errb.String()}
}

// runHook is what hooks/cli.Main does, for an Env of the test's.
func runHook(p Program, env Env) int {
	inv, err := Run(context.Background(), p, env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", filepath.Base(env.Args[0]), err)
	}
	return ExitCode(p, inv, err)
}

// fakeHost stands in for the dom0 package: this kernel has no 802.1Q.
type fakeHost struct {
	mu       sync.Mutex
	jobs     map[string]hostjob.Job
	setups   int
	cleanups int
	fail     error
}

func (f *fakeHost) open(*config.Dom0, string, func(string) string) (Host, error) { return f, nil }

func (f *fakeHost) Setup(_ context.Context, j hostjob.Job) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", f.fail
	}
	f.setups++
	j.Bridge = fmt.Sprintf("br%d", j.VLAN)
	f.jobs[j.Job] = j
	return j.Bridge, nil
}

func (f *fakeHost) Cleanup(_ context.Context, job string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups++
	delete(f.jobs, job)
	return nil
}

func (f *fakeHost) Jobs(context.Context) ([]hostjob.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []hostjob.Job
	for _, j := range f.jobs {
		out = append(out, j)
	}
	return out, nil
}

func (f *fakeHost) has(job string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.jobs[job]
	return ok
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", what, got, w)
		}
	}
}
