package slurm

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Environments as Slurm 22.05 (Debian 12) passed them.
var (
	ctldEnv = map[string]string{
		"SLURM_SCRIPT_CONTEXT": "prolog_slurmctld", "SLURM_JOB_ID": "17", "SLURM_JOBID": "17",
		"SLURM_JOB_USER": "slurmci", "SLURM_JOB_UID": "1000", "SLURM_JOB_GID": "1000",
		"SLURM_JOB_PARTITION": "debug", "SLURM_JOB_NODELIST": "node[01-02]", "SLURM_JOB_NAME": "vc.sh",
		"SLURM_JOB_COMMENT": "vcluster:services=nfs", "SLURM_CLUSTER_NAME": "ci", "SLURM_JOB_GROUP": "slurmci",
	}
	prologEnv = map[string]string{
		"SLURM_SCRIPT_CONTEXT": "prolog_slurmd", "SLURM_JOB_ID": "17", "SLURM_JOBID": "17",
		"SLURM_JOB_USER": "slurmci", "SLURM_JOB_PARTITION": "debug", "SLURM_NODELIST": "node[01-02]",
		"SLURMD_NODENAME": "node01", "SLURM_JOB_NUM_NODES": "2", "SLURM_CONF": "/etc/slurm/slurm.conf",
	}
)

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParse(t *testing.T) {
	e, err := Parse(getenv(ctldEnv), true)
	if err != nil || e.Context != PrologSlurmctld || e.Job != "17" || e.Comment != "vcluster:services=nfs" || e.Partition != "debug" {
		t.Fatalf("controller: %+v %v", e, err)
	}
	if err := e.ExpandHosts(getenv(ctldEnv)); err != nil || !slices.Equal(e.Hosts, []string{"node01", "node02"}) {
		t.Fatalf("controller hosts: %q %v", e.Hosts, err)
	}
	e, err = Parse(getenv(prologEnv), true)
	if err != nil || e.Context != PrologSlurmd || e.Node != "node01" || e.Context.Controller() {
		t.Fatalf("slurmd: %+v %v", e, err)
	}
	if err := e.ExpandHosts(getenv(prologEnv)); err != nil || len(e.Hosts) != 2 {
		t.Fatalf("slurmd hosts: %q %v", e.Hosts, err)
	}
	// No SLURM_SCRIPT_CONTEXT: decided by SLURMD_NODENAME and the binary.
	noCtx := map[string]string{"SLURM_JOB_ID": "3", "SLURM_JOB_USER": "u"}
	if e, _ := Parse(getenv(noCtx), false); e.Context != EpilogSlurmctld {
		t.Errorf("no context, epilogue on controller: %s", e.Context)
	}
	if _, err := Parse(getenv(ctldEnv), false); err == nil || !strings.Contains(err.Error(), "install vc-prologue") {
		t.Errorf("epilogue binary as PrologSlurmctld: %v", err)
	}
	if _, err := Parse(getenv(map[string]string{"SLURM_SCRIPT_CONTEXT": "prolog_slurmd"}), true); err == nil {
		t.Error("missing job id accepted")
	}
	if !Detect(getenv(prologEnv)) || Detect(getenv(map[string]string{"PBS_JOBID": "1"})) {
		t.Error("Detect")
	}
}

func TestJobFieldAndTimeLimit(t *testing.T) {
	out := "JobId=17 JobName=vc.sh UserId=slurmci(1000) Priority=1 JobState=RUNNING Reason=None TimeLimit=00:01:00 Comment=vcluster Partition=debug"
	if v, ok := JobField(out, "TimeLimit"); !ok || v != "00:01:00" {
		t.Fatalf("JobField = %q %v", v, ok)
	}
	for in, want := range map[string]time.Duration{"00:01:00": time.Minute, "5": 5 * time.Minute, "5:30": 5*time.Minute + 30*time.Second,
		"1-00:00:00": 24 * time.Hour, "2-3": 51 * time.Hour, "UNLIMITED": 0, "Partition_Limit": 0} {
		if got, err := TimeLimit(in); err != nil || time.Duration(got)*time.Second != want {
			t.Errorf("TimeLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"x", "1:2:3:4", "-1", "1-x"} {
		if _, err := TimeLimit(bad); err == nil {
			t.Errorf("TimeLimit(%q) accepted", bad)
		}
	}
}
