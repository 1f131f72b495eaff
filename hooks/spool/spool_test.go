package spool

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/virtcloud/virtcloud/internal/hostjob"
)

func TestSpool(t *testing.T) {
	d := Dir{Path: filepath.Join(t.TempDir(), "spool")}
	if _, found, err := d.GetJob("1.srv"); found || err != nil {
		t.Fatalf("empty spool: %v %v", found, err)
	}
	j := hostjob.Job{Job: "12[3].srv", Token: 7, VLAN: 100, Manager: "torque", TTLSeconds: 60, Owner: true}
	if err := d.PutJob(j); err != nil {
		t.Fatal(err)
	}
	if got, found, err := d.GetJob(j.Job); !found || err != nil || got != j {
		t.Fatalf("GetJob = %+v %v %v", got, found, err)
	}
	if js, err := d.Jobs(); err != nil || len(js) != 1 {
		t.Fatalf("Jobs = %v %v", js, err)
	}
	for range 2 { // removing twice is fine
		if err := d.RemoveJob(j.Job); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.PutJob(hostjob.Job{Job: "../etc/passwd"}); err == nil {
		t.Fatal("path in job id accepted")
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := d.QueueRelease(Release{Job: "5", Token: 3, QueuedAt: now}); err != nil {
		t.Fatal(err)
	}
	if rs, err := d.Releases(); err != nil || len(rs) != 1 || rs[0].Token != 3 || !rs[0].QueuedAt.Equal(now) {
		t.Fatalf("Releases = %v %v", rs, err)
	}
	d.DoneRelease("5")
	if rs, _ := d.Releases(); len(rs) != 0 {
		t.Fatalf("release left: %v", rs)
	}
	for want := 1; want <= 3; want++ {
		if n, err := d.AddFailedStart("5"); err != nil || n != want {
			t.Fatalf("AddFailedStart = %d %v", n, err)
		}
	}
	if d.FailedStarts("5") != 3 || d.FailedStarts("6") != 0 {
		t.Fatal("FailedStarts")
	}
	d.PruneStarts(time.Now().Add(48*time.Hour), 24*time.Hour)
	if d.FailedStarts("5") != 0 {
		t.Fatal("PruneStarts kept an old count")
	}
	if info, err := os.Stat(filepath.Join(d.Path, "jobs")); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("spool jobs dir mode: %v %v", info, err)
	}
}

// TestEarlierJobRecordsStillRead: a lease record as the spool wrote it
// before the record was shared with dom0 reads the same.
func TestEarlierJobRecordsStillRead(t *testing.T) {
	d := Dir{Path: t.TempDir()}
	os.MkdirAll(filepath.Join(d.Path, "jobs"), 0o700)
	old := `{"job":"17","token":5,"vlan":101,"bridge":"br101","manager":"slurm","ttl_seconds":3900,"owner":true}` + "\n"
	if err := os.WriteFile(filepath.Join(d.Path, "jobs", "17.json"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	want := hostjob.Job{Job: "17", Token: 5, VLAN: 101, Bridge: "br101", Manager: "slurm", TTLSeconds: 3900, Owner: true}
	if got, found, err := d.GetJob("17"); !found || err != nil || got != want {
		t.Fatalf("GetJob = %+v %v %v, want %+v", got, found, err, want)
	}
	if js, err := d.Jobs(); err != nil || len(js) != 1 || js[0] != want {
		t.Fatalf("Jobs = %+v %v", js, err)
	}
}
