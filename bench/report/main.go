// Command report turns the raw output of scripts/bench.sh (one file per
// step in bench/raw) into bench/results.json (figure name -> number),
// BENCHMARKS.md (every figure next to its goal and baseline) and the plots
// of the scaling curves in bench/.
//
//	cd bench/report && go run . -raw ../raw -root ../..
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

func main() {
	raw := flag.String("raw", "bench/raw", "directory of the raw step outputs")
	root := flag.String("root", ".", "repository root to write BENCHMARKS.md and bench/ into")
	flag.Parse()
	if err := run(*raw, *root); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// stepNames are bench.sh's steps, in the order they run.
var stepNames = []string{"lease", "commit", "snmp-flat", "snmp-per-port", "ssh-flat", "ssh-per-port",
	"prologue", "dom0", "dom0-series", "e2e"}

func run(rawDir, root string) error {
	steps := map[string]*step{}
	for _, n := range stepNames {
		s, err := readStep(rawDir, n)
		if err != nil {
			return err
		}
		steps[n] = s
	}
	mach, err := machine(rawDir)
	if err != nil {
		return err
	}
	figs, extra := compute(steps)
	results := map[string]float64{}
	for _, f := range figs {
		if f.Value.N > 0 {
			results[f.Name] = round(f.Value.Med)
		}
	}
	for k, v := range extra {
		results[k] = round(v)
	}
	js, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(root, "bench", "results.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	plots, err := drawPlots(filepath.Join(root, "bench"), steps)
	if err != nil {
		return err
	}
	md := markdown(figs, steps, mach, plots)
	if err := os.WriteFile(filepath.Join(root, "BENCHMARKS.md"), []byte(md), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	missed := 0
	for _, f := range figs {
		if f.Value.N == 0 || (f.Met != nil && !f.met()) {
			missed++
		}
	}
	fmt.Printf("report: %d figures (%d missing or missing their goal), %d plots; wrote BENCHMARKS.md and bench/results.json\n",
		len(figs), missed, len(plots))
	return nil
}

func round(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	scale := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(v)))) // 4 significant digits
	return math.Round(v*scale) / scale
}
