package hooks

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/hooks/gate"
	"github.com/virtcloud/virtcloud/internal/lookpath"
	"github.com/virtcloud/virtcloud/internal/redistest"
)

// TestGateNeverTakesAClusterJobForOrdinary: over random histories of a
// node's configuration (cluster queues rewritten in place or replaced,
// made readable by others, broken, removed) and of jobs (Torque or Slurm,
// prologue or epilogue, any queue, with or without a request string), a run
// the gate ends as ordinary is one the whole hook, asked right after on the
// same input, also ends as an ordinary job's; and the gate does end such
// runs once the hook has read the file as it is.
func TestGateNeverTakesAClusterJobForOrdinary(t *testing.T) {
	seed := uint64(rand.Int64())
	if s := os.Getenv("GATE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d (GATE_SEED=%d replays this history)", seed, seed)
	hook, err := os.Executable() // this process stands for vc-hook
	if err != nil {
		t.Fatal(err)
	}
	n := newNode(t, "nodeA", nodeOpts{})
	valid, _ := os.ReadFile(n.cfg)
	queueLine := "queues = [\"vcluster\"]\n"
	names := []string{"vcluster", "batch", "gpu", "long", "gpux"}
	pick := func() string { return names[rng.IntN(len(names))] }

	// The file's state as the hook last read it in full, and whether it
	// has changed since.
	readAsIs := false
	gated := 0
	for step := range 3000 {
		what := "unchanged"
		switch rng.IntN(10) {
		case 0, 1: // new cluster queues, written in place (often the same size)
			qs := []string{}
			for range rng.IntN(3) {
				qs = append(qs, fmt.Sprintf("%q", pick()))
			}
			body := strings.Replace(string(valid), queueLine, "queues = ["+strings.Join(qs, ", ")+"]\n", 1)
			what = "queues " + strings.Join(qs, ",")
			mode, _ := os.Stat(n.cfg)
			perm := os.FileMode(0o600)
			if mode != nil {
				perm = mode.Mode().Perm()
			}
			os.WriteFile(n.cfg, []byte(body), perm)
			os.Chmod(n.cfg, perm)
			readAsIs = false
		case 2: // replaced by a new file, as editors do
			tmp := n.cfg + ".new"
			os.WriteFile(tmp, valid, 0o600)
			os.Rename(tmp, n.cfg)
			what, readAsIs = "replaced", false
		case 3:
			mode := []os.FileMode{0o600, 0o640, 0o644, 0o604}[rng.IntN(4)]
			os.Chmod(n.cfg, mode)
			what, readAsIs = fmt.Sprintf("mode %04o", mode), false
		case 4:
			broken := []string{"[hooks\n", "[hooks]\nqueues = 3\n", "[hooks]\nno_such_key = 1\n"}[rng.IntN(3)]
			os.WriteFile(n.cfg, []byte(broken), 0o600)
			what, readAsIs = "broken", false
		case 5:
			os.Remove(n.cfg)
			what, readAsIs = "removed", false
		}

		p, args, env := randomRun(rng, pick())
		env["VIRTCLOUD_CONFIG"] = n.cfg
		getenv := func(k string) string { return env[k] }
		byGate := gate.Ordinary(string(p), args, getenv, n.cacheDir(), hook)
		byHook, err := ordinaryByHook(p, Env{Args: args, Getenv: getenv, CacheDir: n.cacheDir(), Hook: hook})
		if byGate && !byHook {
			t.Fatalf("step %d (%s): the gate ended %s %q %v as ordinary; the hook would not (%v)", step, what, p, args, env, err)
		}
		if readAsIs && byHook && err == nil && !byGate {
			t.Fatalf("step %d: the hook read the file as it is and found %s %q ordinary, but the gate handed it on", step, p, args)
		}
		if byGate {
			gated++
		}
		readAsIs = readAsIs || err == nil && byHook
	}
	if gated < 100 {
		t.Fatalf("the gate ended only %d of 3000 runs itself", gated)
	}
	t.Logf("the gate ended %d of 3000 runs itself", gated)
}

// ordinaryByHook is the whole hook's decision: the invocation parses, the
// configuration is read and valid, and the job is ordinary.
func ordinaryByHook(p Program, env Env) (bool, error) {
	env.defaults()
	inv, err := parseInvocation(p, env)
	if err != nil {
		return false, err
	}
	cfg, cluster, err := loadFor(inv, env)
	return err == nil && cfg != nil && !cluster, err
}

func randomRun(rng *rand.Rand, queue string) (Program, []string, map[string]string) {
	p := []Program{Prologue, Epilogue}[rng.IntN(2)]
	other := []string{"", "", "vcluster", "vcluster:name=a", "scratch"}[rng.IntN(5)]
	if rng.IntN(2) == 0 {
		ctx := map[Program]string{Prologue: "prolog_slurmd", Epilogue: "epilog_slurmd"}[p]
		if rng.IntN(2) == 0 {
			ctx = strings.Replace(ctx, "slurmd", "slurmctld", 1)
		}
		return p, []string{"/usr/sbin/" + string(p)}, slurmEnv(ctx, other, queue)
	}
	res := "nodes=1:ppn=1,walltime=00:10:00"
	if other != "" {
		res += ",other=" + other
	}
	if p == Prologue {
		return p, torquePrologue("prologue", res, queue), map[string]string{}
	}
	return p, torqueEpilogue("epilogue", res, queue, "0"), map[string]string{}
}

// TestGateBinary runs the built vc-prologue and vc-epilogue as a resource
// manager does: cluster jobs reach vc-hook beside them with their argv and
// environment intact; an ordinary job is ended by the gate alone once
// vc-hook has read the configuration; and without vc-hook a prologue fails
// with the exit status its front end gives a fault of this host, saying
// what is missing.
func TestGateBinary(t *testing.T) {
	if p, err := lookpath.Find(os.Getenv, "vc-hook"); err == nil {
		t.Fatalf("a vc-hook is installed at %s: the cases without vc-hook cannot be run here", p)
	}
	closed := fmt.Sprintf("http://127.0.0.1:%d", redistest.FreePort(t))
	n := newNode(t, "nodeA", nodeOpts{server: closed})
	prologue := binary(t, "vc-prologue")
	runOn := func(n *node, bin string, args []string, env map[string]string) result {
		t.Helper()
		cmd := exec.Command(bin, args[1:]...)
		cmd.Args[0] = args[0]
		cmd.Env = []string{"PATH=/bin:/usr/bin", "VIRTCLOUD_CONFIG=" + n.cfg}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
	}
	run := func(bin string, args []string, env map[string]string) result {
		t.Helper()
		return runOn(n, bin, args, env)
	}

	// A cluster job (its server is down): what vc-hook says and exits
	// with is what the hook in this process does with the same input.
	// Torque's first node requeues it; a sister (prologue.parallel, told
	// by argv[0]) leaves that to the first node.
	for name, code := range map[string]int{"prologue": 2, "prologue.parallel": 0} {
		cluster := torquePrologue(name, clusterRes, "batch")
		got := runOn(newNode(t, "nodeA", nodeOpts{server: closed}), prologue, cluster, nil)
		want := newNode(t, "nodeA", nodeOpts{server: closed}).run(Prologue, cluster, map[string]string{"PATH": "/bin:/usr/bin"})
		if got.code != code || got.code != want.code || got.stderr != want.stderr {
			t.Fatalf("%s, cluster job through the gate: %+v; in process: %+v", name, got, want)
		}
	}
	cluster := torquePrologue("prologue", clusterRes, "batch")

	// A private install, vc-prologue and vc-hook side by side, whose
	// vc-hook the test may spoil.
	dir := t.TempDir()
	install := func(name, bin string) string {
		b, err := os.ReadFile(binary(t, bin))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	alone, epilogueAlone, hook := install("prologue", "vc-prologue"), install("epilogue", "vc-epilogue"), install("vc-hook", "vc-hook")

	ordinary := torquePrologue("prologue", "nodes=1,walltime=00:10:00", "batch")
	if r := run(alone, ordinary, nil); r.code != 0 || r.stderr != "" {
		t.Fatalf("ordinary job, first run: %+v", r)
	}
	if _, err := os.Stat(gate.CacheFile(gate.DefaultCacheDir, n.cfg)); err != nil {
		t.Fatalf("vc-hook left no decision for the gate: %v", err)
	}

	// vc-hook's first bytes garbled in place, its size, inode and time
	// kept: the gate must end an ordinary job without running it, and a
	// cluster job's run must fail naming it.
	info, err := os.Stat(hook)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(hook, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("no program"), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Chtimes(hook, info.ModTime(), info.ModTime())
	if r := run(alone, ordinary, nil); r.code != 0 || r.stderr != "" {
		t.Fatalf("ordinary job, vc-hook not runnable: %+v", r)
	}
	if r := run(alone, cluster, nil); r.code != 2 || !strings.Contains(r.stderr, "prologue: cannot run the hook: exec "+hook+": exec format error") {
		t.Fatalf("cluster job, vc-hook not runnable: %+v", r)
	}

	os.Remove(hook)
	for _, c := range []struct {
		name string
		bin  string
		p    Program
		args []string
		env  map[string]string
	}{
		{"Torque", alone, Prologue, cluster, nil},
		{"Torque presetup", alone, Prologue, append(torquePrologue("prologue", clusterRes, "batch"), "nodeA,nodeB"), nil},
		{"Torque epilogue", epilogueAlone, Epilogue, torqueEpilogue("epilogue", clusterRes, "batch", "0"), nil},
		{"Slurm Prolog", alone, Prologue, []string{"prologue"}, slurmEnv("prolog_slurmd", "vcluster", "debug")},
		{"Slurm PrologSlurmctld", alone, Prologue, []string{"prologue"}, slurmEnv("prolog_slurmctld", "", "vcluster")},
		{"OpenPBS", alone, Prologue, []string{"prologue", "--openpbs", "-job", "7", "-queue", "vcluster"}, nil},
	} {
		r := run(c.bin, c.args, c.env)
		env := Env{Args: c.args, Getenv: func(k string) string { return c.env[k] }}
		env.defaults()
		inv, _ := parseInvocation(c.p, env)
		want := ExitCode(c.p, inv, &Error{Class: HostFault, Err: errors.New("no vc-hook")})
		if r.code != want || !strings.Contains(r.stderr, filepath.Base(c.args[0])+": cannot run the hook: vc-hook: not found in "+filepath.Dir(alone)) {
			t.Errorf("%s without vc-hook: exit %d (the front end gives a host fault %d): %q", c.name, r.code, want, r.stderr)
		}
	}
}

// TestRememberWritesOnlyWhatChanged: vc-hook leaves the gate a cache only
// its owner reads, and does not write it again while it is up to date.
func TestRememberWritesOnlyWhatChanged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	cfg := filepath.Join(t.TempDir(), "virtcloud.toml")
	data := []byte("[hooks]\nqueues = [\"a\", \"b\"]\n")
	hook, err := os.Executable() // this process stands for vc-hook
	if err != nil {
		t.Fatal(err)
	}
	if err := remember(dir, hook, cfg, data, 0o600, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	cache := gate.CacheFile(dir, cfg)
	before, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	if m := before.Mode().Perm(); m != 0o600 {
		t.Errorf("cache mode %04o: it holds a hash of a file with secrets", m)
	}
	if err := remember(dir, hook, cfg, data, 0o600, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(cache); !os.SameFile(before, after) {
		t.Error("an up-to-date cache was written again")
	}
	if err := remember(dir, hook, cfg, data, 0o600, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(cache); os.SameFile(before, after) {
		t.Error("a changed decision was not written")
	}
	// A queue that cannot be written on one line leaves the runs to vc-hook.
	os.Remove(cache)
	if err := remember(dir, hook, cfg, data, 0o600, []string{"a\nqueue c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Errorf("a queue with a line break was cached: %v", err)
	}
}
