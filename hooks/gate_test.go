package hooks

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/hooks/gate"
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
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
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
		byGate := gate.Ordinary(string(p), args, getenv, n.cacheDir())
		byHook, err := ordinaryByHook(p, Env{Args: args, Getenv: getenv, CacheDir: n.cacheDir()})
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
	n := newNode(t, "nodeA", nodeOpts{})
	prologue := binary(t, "vc-prologue")
	run := func(bin string, args []string, env map[string]string) result {
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

	// A cluster job (its server is down): what vc-hook says and exits
	// with is what the hook in this process does with the same input.
	cluster := torquePrologue("prologue", clusterRes, "batch")
	got := run(prologue, cluster, map[string]string{"PBS_NODENUM": "0"})
	want := n.run(Prologue, cluster, map[string]string{"PBS_NODENUM": "0", "PATH": "/bin:/usr/bin"})
	if got.code != want.code || got.code == 0 || !strings.Contains(got.stderr, "prologue: ") {
		t.Fatalf("cluster job through the gate: %+v; in process: %+v", got, want)
	}

	ordinary := torquePrologue("prologue", "nodes=1,walltime=00:10:00", "batch")
	cache := gate.CacheFile(gate.DefaultCacheDir, n.cfg)
	if r := run(prologue, ordinary, nil); r.code != 0 || r.stderr != "" {
		t.Fatalf("ordinary job, first run: %+v", r)
	}
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("vc-hook left no decision for the gate: %v", err)
	}

	// vc-prologue alone: the gate must decide by itself.
	alone := filepath.Join(t.TempDir(), "prologue")
	b, _ := os.ReadFile(prologue)
	os.WriteFile(alone, b, 0o500)
	if r := run(alone, ordinary, nil); r.code != 0 || r.stderr != "" {
		t.Fatalf("ordinary job without vc-hook: %+v", r)
	}
	epilogueAlone := filepath.Join(filepath.Dir(alone), "epilogue")
	b, _ = os.ReadFile(binary(t, "vc-epilogue"))
	os.WriteFile(epilogueAlone, b, 0o500)

	for _, c := range []struct {
		name string
		bin  string
		p    Program
		args []string
		env  map[string]string
	}{
		{"Torque", alone, Prologue, cluster, nil},
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
