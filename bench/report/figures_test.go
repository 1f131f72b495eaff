package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestTaggingOverhead: the one definition, per paired round, median and
// spread; a goal met at the median but not across the rounds is missed.
func TestTaggingOverhead(t *testing.T) {
	got := taggingOverhead([]float64{100, 200, 100, 50}, []float64{99, 196, 101})
	if want := (stats{Med: 1, Lo: -1, Hi: 2, N: 3}); got != want {
		t.Fatalf("taggingOverhead: %+v, want %+v", got, want)
	}
	e2e := &step{Name: "e2e", Ran: true, Lines: []string{"BENCH tagging_link_shaped_mbps=100"}}
	for _, r := range [][2]float64{{100, 99.5}, {100, 99.8}, {100, 97}} {
		e2e.Lines = append(e2e.Lines, fmt.Sprintf("BENCH tagging_link_untagged_mbps=%.1f tagging_link_tagged_mbps=%.1f", r[0], r[1]))
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
		if want := "untagged path, same guests, same link shaped to 100 Mbit/s, same round"; f.Baseline != want {
			t.Fatalf("baseline %q, want %q", f.Baseline, want)
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

// figureFrom computes the figures from the given steps' output lines (every
// other step not run) and returns the one named.
func figureFrom(t *testing.T, name string, lines map[string][]string) *figure {
	t.Helper()
	steps := map[string]*step{}
	for _, n := range stepNames {
		steps[n] = &step{Name: n, Ran: lines[n] != nil, Lines: lines[n]}
	}
	figs, _ := compute(steps)
	for _, f := range figs {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no figure %s", name)
	return nil
}

// TestDom0Rounds: each round's BENCH line is one run of dom0_speedup_vs_ip;
// three rounds that all meet the goal meet it, two do not count.
func TestDom0Rounds(t *testing.T) {
	rounds := []string{
		"BENCH dom0_speedup_vs_ip=11.00 dom0_attach_ms=4.000",
		"BENCH dom0_speedup_vs_ip=10.20 dom0_attach_ms=5.000",
		"BENCH dom0_speedup_vs_ip=12.50 dom0_attach_ms=4.500",
	}
	f := figureFrom(t, "dom0_speedup_vs_ip", map[string][]string{"dom0": rounds})
	if want := (stats{Med: 11, Lo: 10.2, Hi: 12.5, N: 3}); f.Value != want || !f.met() {
		t.Fatalf("three rounds: %+v met %v, want %+v met", f.Value, f.met(), want)
	}
	f = figureFrom(t, "dom0_speedup_vs_ip", map[string][]string{"dom0": rounds[:2]})
	if got, want := byHowMuch(f), "2 runs, which meet it, are fewer than the 3 its spread is judged over"; f.met() || got != want {
		t.Fatalf("two rounds: met %v, %q, want not met, %q", f.met(), got, want)
	}
	f = figureFrom(t, "dom0_speedup_vs_ip", map[string][]string{"dom0": append(rounds, "BENCH dom0_speedup_vs_ip=9.50 dom0_attach_ms=4.000")})
	if got, want := byHowMuch(f), "the worst run, 9.50, is 5 % short of 10.0"; f.met() || got != want {
		t.Fatalf("a round short: met %v, %q, want not met, %q", f.met(), got, want)
	}
}

// TestDom0PerGuestTimes: rounds that report both paths' per-guest times
// explain the ratio with their medians and the kernel's bound on it.
func TestDom0PerGuestTimes(t *testing.T) {
	var rounds []string
	for _, r := range [][5]float64{{8, 4, 24, 160, 58}, {7.5, 5, 25, 150, 60}, {8.2, 3, 23, 170, 55}} {
		rounds = append(rounds, fmt.Sprintf("BENCH dom0_speedup_vs_ip=%.2f dom0_attach_ms=%.3f dom0_detach_ms=%.3f dom0_ip_attach_ms=%.3f dom0_ip_detach_ms=%.3f", r[0], r[1], r[2], r[3], r[4]))
	}
	f := figureFrom(t, "dom0_speedup_vs_ip", map[string][]string{"dom0": rounds})
	want := "Per guest, medians of the same rounds: vc-dom0 attaches in 4.0 ms and detaches in 24.0 ms; the `ip` path takes 160 ms for its 4 attach commands and 58 ms for the detach. " +
		"Had vc-dom0 itself taken no time at all, the kernel's about 19 ms per detach would still hold the ratio to 11.5"
	if f.Value.Med != 8 || !strings.HasSuffix(f.Why, want) {
		t.Fatalf("median %v, why %q; want 8 and a why ending %q", f.Value.Med, f.Why, want)
	}
}

// TestPerPortWorstDialect: the per-port speedup is the worst measured
// dialect's median, judged over that dialect's runs; dialects the step did
// not run are left out.
func TestPerPortWorstDialect(t *testing.T) {
	var lines []string
	for _, r := range [][2]float64{{60, 40}, {64, 25}, {62, 30}} {
		lines = append(lines,
			fmt.Sprintf("BenchmarkAddVLAN/junos/per-port/N=64-2 1 1000 ns/op %.1f x-batch-time", r[0]),
			fmt.Sprintf("BenchmarkAddVLAN/comware/per-port/N=64-2 1 1000 ns/op %.1f x-batch-time", r[1]))
	}
	f := figureFrom(t, "switch_speedup_vs_per_port_64", map[string][]string{"ssh-per-port": lines})
	if want := (stats{Med: 30, Lo: 25, Hi: 40, N: 3}); f.Value != want || !f.met() {
		t.Fatalf("%+v met %v, want comware's %+v, met", f.Value, f.met(), want)
	}
	if want := "worst: comware; measured: comware 30x, junos 62x"; f.Note != want {
		t.Fatalf("note %q, want %q", f.Note, want)
	}
}
