package hostjob

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJobFiles(t *testing.T) {
	dir := t.TempDir()
	ids := []string{"1234[5].srv_a+b", "..", "a/b", "_2e", "job-1"}
	for i, id := range ids {
		if err := Write(dir, Job{Job: id, VLAN: 100 + i, Token: 7, State: "active"}); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "jobs"))
	if len(ents) != len(ids) {
		t.Fatalf("%d files for %d jobs", len(ents), len(ids))
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || strings.ContainsAny(e.Name(), "/[]+") {
			t.Errorf("unsafe file name %q", e.Name())
		}
	}
	jobs, err := ReadAll(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, j := range jobs {
		got[j.Job] = j.VLAN
	}
	for i, id := range ids {
		if got[id] != 100+i {
			t.Errorf("job %q: VLAN %d, want %d", id, got[id], 100+i)
		}
	}
	for range 2 {
		if err := Remove(dir, "1234[5].srv_a+b"); err != nil {
			t.Fatal(err)
		}
	}
	if jobs, _ := ReadAll(dir); len(jobs) != len(ids)-1 {
		t.Fatalf("after remove: %v", jobs)
	}
	if err := Write(dir, Job{Job: "x", VLAN: 1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("VLAN 1 accepted: %v", err)
	}
	bad := filepath.Join(dir, "jobs", "broken.json")
	os.WriteFile(bad, []byte("{"), 0o644)
	if _, err := ReadAll(dir); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("broken file: %v", err)
	}
}

// TestEarlierJobFilesStillRead: job files written before the record was
// shared (dom0's, indented, and with every optional field) read as before.
func TestEarlierJobFilesStillRead(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "jobs"), 0o755)
	old := "{\n  \"job\": \"41.torque-srv\",\n  \"vlan\": 203,\n  \"bridge\": \"br203\",\n  \"state\": \"active\",\n  \"token\": 17,\n  \"server\": \"https://leases.example.org:7480\"\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "jobs", "41_2etorque-srv.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	jobs, err := ReadAll(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Job{Job: "41.torque-srv", VLAN: 203, Bridge: "br203", State: "active", Token: 17, Server: "https://leases.example.org:7480"}
	if len(jobs) != 1 || jobs[0] != want {
		t.Fatalf("read %+v, want %+v", jobs, want)
	}
	// Written again, the file is byte for byte what it was.
	if err := Write(dir, want); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "jobs", "41_2etorque-srv.json")); string(b) != old {
		t.Fatalf("rewritten as %s, was %s", b, old)
	}
}
