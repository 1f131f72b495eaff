package spool

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSpool(t *testing.T) {
	d := Dir{Path: filepath.Join(t.TempDir(), "spool")}
	if _, found, err := d.GetJob("1.srv"); found || err != nil {
		t.Fatalf("empty spool: %v %v", found, err)
	}
	j := Job{Job: "12[3].srv", Token: 7, VLAN: 100, Manager: "torque", TTLSeconds: 60, Owner: true}
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
	if err := d.PutJob(Job{Job: "../etc/passwd"}); err == nil {
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
