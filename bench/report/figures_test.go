package main

import (
	"fmt"
	"testing"
)

// TestTaggingOverhead: the one definition, per paired round, median and
// spread; a goal met at the median but not across the rounds is missed.
func TestTaggingOverhead(t *testing.T) {
	got := taggingOverhead([]float64{100, 200, 100, 50}, []float64{99, 196, 101})
	if want := (stats{Med: 1, Lo: -1, Hi: 2, N: 3}); got != want {
		t.Fatalf("taggingOverhead: %+v, want %+v", got, want)
	}
	e2e := &step{Name: "e2e", Ran: true}
	for _, r := range [][2]float64{{100, 99.5}, {100, 99.8}, {100, 97}} {
		e2e.Lines = append(e2e.Lines, fmt.Sprintf("BENCH tagging_round_untagged_mbps=%.1f tagging_round_tagged_mbps=%.1f", r[0], r[1]))
	}
	steps := map[string]*step{"e2e": e2e}
	for _, n := range stepNames[:len(stepNames)-1] {
		steps[n] = &step{Name: n} // not run
	}
	figs, _ := compute(steps)
	for _, f := range figs {
		if f.Name != "tagging_overhead_pct" {
			continue
		}
		if f.Value.N != 3 || f.Value.Med != 0.5 || f.met() {
			t.Fatalf("tagging_overhead_pct: %+v met %v, want median 0.5 of 3 rounds, not met (one round lost 3 %%)", f.Value, f.met())
		}
		if got, want := byHowMuch(f), "the worst run, 3.00, is 200 % over 1.00"; got != want {
			t.Fatalf("byHowMuch: %q, want %q", got, want)
		}
		f.Value = statsOf([]float64{0.5})
		if got, want := byHowMuch(f), "one run, which meets it, shows no spread to hold the goal over"; f.met() || got != want {
			t.Fatalf("one run: met %v, %q, want not met, %q", f.met(), got, want)
		}
		return
	}
	t.Fatal("no tagging_overhead_pct figure")
}
