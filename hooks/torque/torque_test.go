package torque

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Argument vectors as pbs_mom passed them on Torque 6.1.
var (
	prologue8 = []string{"41.torque-srv", "alice", "users", "vc.sh",
		"nodes=2:ppn=1,walltime=00:00:30,neednodes=2:ppn=1", "batch", "", "/var/spool/torque/mom_priv/jobs/41.torque-srv.SC"}
	epilogue11 = []string{"41.torque-srv", "alice", "users", "vc.sh", "12345",
		"nodes=2:ppn=1,walltime=00:00:30,neednodes=2:ppn=1",
		"cput=00:00:00,vmem=11640kb,walltime=00:00:32,mem=7772kb,energy_used=0",
		"batch", "", "-11", "/var/spool/torque/mom_priv/jobs/41.torque-srv.SC"}
)

func TestParsePrologue(t *testing.T) {
	a, err := ParsePrologue(prologue8)
	if err != nil || a.Job != "41.torque-srv" || a.User != "alice" || a.Queue != "batch" || a.Script == "" {
		t.Fatalf("8 args: %+v %v", a, err)
	}
	a, err = ParsePrologue(prologue8[:7])
	if err != nil || a.Queue != "batch" || a.Script != "" {
		t.Fatalf("7 args: %+v %v", a, err)
	}
	a, err = ParsePrologue(append(slices.Clone(prologue8), "nodeA+nodeB"))
	if err != nil || a.HostList != "nodeA+nodeB" {
		t.Fatalf("presetup: %+v %v", a, err)
	}
	for _, bad := range [][]string{prologue8[:6], append(slices.Clone(prologue8), "x", "y"), append([]string{""}, prologue8[1:]...)} {
		if _, err := ParsePrologue(bad); err == nil {
			t.Errorf("ParsePrologue(%q) accepted", bad)
		}
	}
}

func TestParseEpilogue(t *testing.T) {
	a, err := ParseEpilogue(epilogue11)
	if err != nil || a.Session != "12345" || a.Queue != "batch" || a.ExitStatus != "-11" || !strings.HasPrefix(a.Used, "cput=") {
		t.Fatalf("11 args: %+v %v", a, err)
	}
	if a, err = ParseEpilogue(epilogue11[:10]); err != nil || a.ExitStatus != "-11" || a.Script != "" {
		t.Fatalf("10 args: %+v %v", a, err)
	}
	if _, err := ParseEpilogue(epilogue11[:8]); err == nil || !strings.Contains(err.Error(), "got 8 arguments") {
		t.Fatalf("8 args: %v", err)
	}
}

func TestResourcesAndWalltime(t *testing.T) {
	r := Resources("nodes=2:ppn=1,walltime=00:00:30,neednodes=2:ppn=1,other=vcluster:image=deb12:publish=none,naccesspolicy")
	if r["walltime"] != "00:00:30" || r["other"] != "vcluster:image=deb12:publish=none" || r["nodes"] != "2:ppn=1" {
		t.Fatalf("Resources: %v", r)
	}
	if _, ok := r["naccesspolicy"]; !ok {
		t.Fatalf("key without value lost: %v", r)
	}
	for in, want := range map[string]time.Duration{"00:00:30": 30 * time.Second, "1:00:00": time.Hour,
		"90": 90 * time.Second, "2:30": 150 * time.Second, "1:00:00:00": 24 * time.Hour, "": 0} {
		if got, err := Walltime(in); err != nil || time.Duration(got)*time.Second != want {
			t.Errorf("Walltime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"1:2:3:4:5", "aa:00", "-5", "1::0", "99999999999"} {
		if _, err := Walltime(bad); err == nil {
			t.Errorf("Walltime(%q) accepted", bad)
		}
	}
}

func TestHosts(t *testing.T) {
	if got := NodeFile("nodeA\nnodeA\nnodeB\n\n"); !slices.Equal(got, []string{"nodeA", "nodeB"}) {
		t.Errorf("NodeFile = %q", got)
	}
	got, err := ExecHost("nodeA/0+nodeB/0-3,5+nodeA/1")
	if err != nil || !slices.Equal(got, []string{"nodeA", "nodeB"}) {
		t.Errorf("ExecHost = %q, %v", got, err)
	}
	if _, err := ExecHost("nodeA/x"); err == nil {
		t.Error("bad slots accepted")
	}
	out := "Job Id: 41.torque-srv\n    Job_Name = vc.sh\n    exec_host = nodeA.example.org/0+nodeB.exa\n\tmple.org/0\n    exec_port = 15003+15003\n"
	v, ok := QstatField(out, "exec_host")
	if !ok || v != "nodeA.example.org/0+nodeB.example.org/0" {
		t.Errorf("QstatField = %q %v", v, ok)
	}
}

// FuzzArgs: the Torque argument and resource strings never panic the
// parsers, and what Walltime accepts is never negative.
func FuzzArgs(f *testing.F) {
	f.Add("nodes=2:ppn=1,walltime=00:00:30,other=vcluster:image=x", "00:00:30", "a/0+b/0-3,5")
	f.Add(",,=,=x", "1:2:3:4", "+/+")
	f.Add("walltime", "::", "a b/0")
	f.Fuzz(func(t *testing.T, res, wall, exec string) {
		r := Resources(res)
		for k := range r {
			if k == "" || strings.Contains(k, ",") {
				t.Fatalf("Resources(%q): bad key %q", res, k)
			}
		}
		if d, err := Walltime(wall); err == nil && d < 0 {
			t.Fatalf("Walltime(%q) = %v", wall, d)
		}
		if hosts, err := ExecHost(exec); err == nil {
			for _, h := range hosts {
				if h == "" || strings.ContainsAny(h, "+/") {
					t.Fatalf("ExecHost(%q): bad host %q", exec, h)
				}
			}
		}
		_, _ = QstatField(exec, res)
	})
}
