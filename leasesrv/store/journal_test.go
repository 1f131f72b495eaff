package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestJournalWaitsForReplicas: with wait_replicas set, a journal write is
// confirmed only when replicas have it; a lone Redis has none, so the write
// is reported unacknowledged rather than silently trusted.
func TestJournalWaitsForReplicas(t *testing.T) {
	rdb := startRedis(t)
	st := New(rdb, Policy{})
	ctx := context.Background()
	j := &Journal{Job: "1.pbs", Token: 7, Intent: "apply", Plan: map[string][]string{"sw1": {"1"}}}
	if err := st.JournalBegin(ctx, j); err != nil {
		t.Fatalf("without wait_replicas: %v", err)
	}
	if err := st.JournalStep(ctx, "1.pbs", "sw1", StepDone); err != nil {
		t.Fatal(err)
	}
	got, err := st.JournalGet(ctx, "1.pbs")
	if err != nil || got == nil || got.Token != 7 || got.Steps["sw1"] != StepDone {
		t.Fatalf("journal read back: %+v %v", got, err)
	}
	st = New(rdb, Policy{WaitReplicas: 1, WaitTimeout: 50 * time.Millisecond})
	// The guard that records a step started is a journal write too: a
	// device must not be touched before the replicas have it.
	lock, err := st.LockSwitch(ctx, "sw1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.GuardStep(ctx, lock, "1.pbs", "sw1", 7); !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("guard step with wait_replicas = 1 and no replica: %v, want ErrNotReplicated", err)
	}
	if err := st.JournalEnd(ctx, "1.pbs"); !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("with wait_replicas = 1 and no replica: %v, want ErrNotReplicated", err)
	}
	if js, _ := st.Journals(ctx); len(js) != 0 {
		t.Fatalf("journals left: %v", js)
	}
}
