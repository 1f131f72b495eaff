package gate

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/virtcloud/virtcloud/internal/config"
)

func TestDefaultConfigIsTheConfigPackages(t *testing.T) {
	if defaultConfig != config.DefaultPath {
		t.Fatalf("gate reads %s, the hooks %s", defaultConfig, config.DefaultPath)
	}
}

func torqueArgs(prologue bool, queue, other string) []string {
	res := "nodes=1:ppn=1,walltime=00:10:00"
	if other != "" {
		res += ",other=" + other
	}
	if prologue {
		return []string{"/var/spool/torque/mom_priv/prologue", "7.srv", "alice", "users", "job.sh", res, queue, ""}
	}
	return []string{"/var/spool/torque/mom_priv/epilogue", "7.srv", "alice", "users", "job.sh", "4242", res,
		"cput=00:00:00", queue, "", "0"}
}

func getenvOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// A gate over one configuration file and cache directory.
type rig struct {
	t              *testing.T
	cfg, dir, hook string
	env            map[string]string
}

func newRig(t *testing.T, body string) *rig {
	d := t.TempDir()
	r := &rig{t: t, cfg: filepath.Join(d, "virtcloud.toml"), dir: filepath.Join(d, "cache"), hook: filepath.Join(d, "vc-hook")}
	if err := os.WriteFile(r.hook, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.env = map[string]string{"VIRTCLOUD_CONFIG": r.cfg}
	if err := os.WriteFile(r.cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// remember is what vc-hook does after reading the file as it is now.
func (r *rig) remember(queues ...string) {
	r.t.Helper()
	b, err := os.ReadFile(r.cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	info, _ := os.Stat(r.cfg)
	rec, err := Record(r.hook, r.cfg, b, uint32(info.Mode().Perm()), queues)
	if err != nil {
		r.t.Fatal(err)
	}
	os.MkdirAll(r.dir, 0o700)
	if err := os.WriteFile(CacheFile(r.dir, r.cfg), rec, 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) ordinary(program string, args []string) bool {
	return Ordinary(program, args, getenvOf(r.env), r.dir, r.hook)
}

func (r *rig) want(what string, program string, args []string, want bool) {
	r.t.Helper()
	if got := r.ordinary(program, args); got != want {
		r.t.Errorf("%s: ordinary = %v, want %v", what, got, want)
	}
}

func TestOrdinaryOnlyWhatVcHookDecidedForTheFileAsItIs(t *testing.T) {
	const body = "[hooks]\nqueues = [\"vcluster\"]\n"
	r := newRig(t, body)
	r.want("nothing cached yet", Prologue, torqueArgs(true, "batch", ""), false)
	r.remember("vcluster")

	r.want("Torque prologue, other queue", Prologue, torqueArgs(true, "batch", ""), true)
	r.want("Torque epilogue, other queue", Epilogue, torqueArgs(false, "batch", ""), true)
	r.want("a cluster queue", Prologue, torqueArgs(true, "vcluster", ""), false)
	r.want("a request string", Prologue, torqueArgs(true, "batch", "vcluster:name=a"), false)
	r.want("an epilogue with a request string", Epilogue, torqueArgs(false, "batch", "vcluster"), false)
	r.want("other= that is no request", Prologue, torqueArgs(true, "batch", "scratch"), true)
	r.want("arguments pbs_mom never passes", Prologue, torqueArgs(true, "batch", "")[:4], false)
	r.want("no arguments at all", Prologue, nil, false)
	r.want("an epilogue's arguments to the prologue", Prologue, torqueArgs(false, "batch", ""), false)
	r.want("OpenPBS (its hook tells ordinary jobs itself)", Prologue, []string{"vc-prologue", "--openpbs", "-job", "7", "-queue", "batch"}, false)

	slurm := func(context, partition, comment string) {
		r.env["SLURM_SCRIPT_CONTEXT"], r.env["SLURM_JOB_ID"], r.env["SLURM_JOB_USER"] = context, "7", "alice"
		r.env["SLURM_JOB_PARTITION"], r.env["SLURM_JOB_COMMENT"] = partition, comment
	}
	slurm("prolog_slurmd", "debug", "")
	r.want("Slurm Prolog, other partition", Prologue, []string{"/usr/sbin/vc-prologue"}, true)
	r.want("Slurm Prolog context for the epilogue binary", Epilogue, []string{"/usr/sbin/vc-epilogue"}, false)
	slurm("epilog_slurmctld", "vcluster", "")
	r.want("Slurm cluster partition", Epilogue, []string{"/usr/sbin/vc-epilogue"}, false)
	slurm("prolog_slurmctld", "debug", "vcluster:services=nfs")
	r.want("Slurm request string", Prologue, []string{"/usr/sbin/vc-prologue"}, false)
	for _, k := range []string{"SLURM_SCRIPT_CONTEXT", "SLURM_JOB_ID", "SLURM_JOB_USER", "SLURM_JOB_PARTITION", "SLURM_JOB_COMMENT"} {
		delete(r.env, k)
	}

	// The file changes: the cache no longer speaks for it.
	ordinary := torqueArgs(true, "batch", "")
	same := []byte("[hooks]\nqueues = [\"batch___\"]\n")
	if len(same) != len(body) {
		t.Fatal("the rewrite must keep the file's size")
	}
	os.WriteFile(r.cfg, same, 0o600)
	r.want("rewritten, same size", Prologue, ordinary, false)
	os.WriteFile(r.cfg, []byte(body), 0o600)
	r.want("back as it was", Prologue, ordinary, true)
	os.Chmod(r.cfg, 0o644)
	r.want("made readable by others", Prologue, ordinary, false)
	os.Chmod(r.cfg, 0o640)
	r.want("made group-readable (another mode than vc-hook read)", Prologue, ordinary, false)
	os.Chmod(r.cfg, 0o600)
	r.want("mode back", Prologue, ordinary, true)
	r.env["VIRTCLOUD_CONFIG"] = r.cfg + ".other"
	r.want("another configuration file", Prologue, ordinary, false)
	r.env["VIRTCLOUD_CONFIG"] = r.cfg
	os.Rename(r.cfg, r.cfg+".moved")
	r.want("removed", Prologue, ordinary, false)
	os.Rename(r.cfg+".moved", r.cfg)
	r.want("restored", Prologue, ordinary, true)

	// Another vc-hook (reinstalled, upgraded) has not judged this file.
	b, _ := os.ReadFile(r.hook)
	os.WriteFile(r.hook+".new", b, 0o755)
	os.Rename(r.hook+".new", r.hook)
	r.want("vc-hook reinstalled", Prologue, ordinary, false)
	r.remember("vcluster")
	r.want("judged by the new vc-hook", Prologue, ordinary, true)
	os.Remove(r.hook)
	r.want("vc-hook gone", Prologue, ordinary, false)
}

func TestACacheOthersCouldWriteIsNotTrusted(t *testing.T) {
	r := newRig(t, "[hooks]\n")
	r.remember()
	args := torqueArgs(true, "batch", "")
	r.want("own cache", Prologue, args, true)
	cache := CacheFile(r.dir, r.cfg)
	good, _ := os.ReadFile(cache)

	os.Chmod(cache, 0o622)
	r.want("cache writable by others", Prologue, args, false)
	os.Chmod(cache, 0o600)
	if err := os.Chown(cache, 65534, 65534); err != nil {
		t.Fatalf("give the cache to another user (the test runs as root, as the hooks do): %v", err)
	}
	r.want("cache of another user", Prologue, args, false)
	os.Chown(cache, os.Geteuid(), os.Getegid())
	r.want("own again", Prologue, args, true)

	for what, b := range map[string]string{
		"a line that is no queue": string(good) + "server http://x\n",
		"a last line cut short":   string(good) + "queue vcl",
		"another format":          "virtcloud-gate 2" + string(good)[len("virtcloud-gate 1"):],
		"another configuration":   string(good[:len(good)-5]) + "XXXX\n",
		"an empty file":           "",
		"the header only":         cacheHeader,
	} {
		os.WriteFile(cache, []byte(b), 0o600)
		r.want(what, Prologue, args, false)
	}
}

func TestRecordOfNamesThatSpanLines(t *testing.T) {
	r := newRig(t, "[hooks]\nqueues = [\"a\", \"b\"]\n")
	r.remember("a", "b")
	r.want("queue a", Prologue, torqueArgs(true, "a", ""), false)
	r.want("queue b", Prologue, torqueArgs(true, "b", ""), false)
	r.want("queue c", Prologue, torqueArgs(true, "c", ""), true)

	// A name that cannot be written on one line leaves the runs to vc-hook.
	for _, names := range [][]string{{r.hook, r.cfg, "a\nqueue c"}, {r.hook + "\n", r.cfg}, {r.hook, r.cfg + "\n"}} {
		if rec, err := Record(names[0], names[1], []byte("x"), 0o600, names[2:]); rec != nil || err != nil {
			t.Errorf("Record(%q) = %q, %v; want no record", names, rec, err)
		}
	}
	if _, err := Record(r.hook+".missing", r.cfg, nil, 0o600, nil); err == nil || !strings.Contains(err.Error(), "stat "+r.hook+".missing") {
		t.Errorf("Record of a missing vc-hook: %v", err)
	}
}

// Args reads what the os package gives as os.Args, empty arguments too
// (Torque passes an empty account, and the last argument may be empty).
func TestArgsAreOsArgs(t *testing.T) {
	if os.Getenv("GATE_ARGS_CHILD") != "" {
		args, err := Args()
		if err != nil || !slices.Equal(args, os.Args) {
			t.Fatalf("Args() = %q, %v; os.Args = %q", args, err, os.Args)
		}
		return
	}
	for _, extra := range [][]string{nil, {""}, {"a b", "", "x\ty", ""}, {"", "", "=,:"}} {
		cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestArgsAreOsArgs$"}, extra...)...)
		cmd.Env = append(os.Environ(), "GATE_ARGS_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("arguments %q: %v\n%s", extra, err, out)
		}
	}
}
