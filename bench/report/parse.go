package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// step is the raw output of one step of scripts/bench.sh: <name>.txt (its
// output), <name>.rc (exit status) and <name>.secs (wall time).
type step struct {
	Name  string
	Ran   bool
	RC    int
	Secs  int
	Cmd   string
	Skip  string // why the step did not run (<name>.skip)
	Load  string // the machine's load average when the step started
	Lines []string
}

// readStep reads a step's files; a step that did not run has Ran false.
func readStep(dir, name string) (*step, error) {
	s := &step{Name: name}
	if r, err := os.ReadFile(filepath.Join(dir, name+".skip")); err == nil {
		s.Skip = strings.TrimSpace(string(r))
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".txt"))
	if os.IsNotExist(err) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read step %s: %w", name, err)
	}
	s.Ran = true
	s.Lines = strings.Split(strings.ReplaceAll(string(b), "\r", ""), "\n")
	s.RC = atoiFile(filepath.Join(dir, name+".rc"), -1)
	s.Secs = atoiFile(filepath.Join(dir, name+".secs"), 0)
	if l, err := os.ReadFile(filepath.Join(dir, name+".load")); err == nil {
		s.Load = strings.TrimSpace(string(l))
	}
	if c, err := os.ReadFile(filepath.Join(dir, name+".cmd")); err == nil {
		s.Cmd = strings.TrimSpace(string(c))
	}
	return s, nil
}

func atoiFile(path string, def int) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return def
	}
	return n
}

// tail is the last n non-empty lines of the step's output, for the reason
// a figure is missing.
func (s *step) tail(n int) string {
	var out []string
	for i := len(s.Lines) - 1; i >= 0 && len(out) < n; i-- {
		if l := strings.TrimSpace(s.Lines[i]); l != "" {
			out = append(out, l)
		}
	}
	slices.Reverse(out)
	return strings.Join(out, " / ")
}

// benchResult is one line of `go test -bench` output.
type benchResult struct {
	Parts   []string // name split at "/", without "Benchmark" and the -GOMAXPROCS suffix
	Metrics map[string]float64
}

var benchRE = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+\d+\s+(.+)$`)

func (s *step) benchmarks() []benchResult {
	var out []benchResult
	for _, l := range s.Lines {
		m := benchRE.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		f := strings.Fields(m[3])
		r := benchResult{Parts: strings.Split(m[1], "/"), Metrics: map[string]float64{}}
		for i := 0; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				r.Metrics[f[i+1]] = v
			}
		}
		out = append(out, r)
	}
	return out
}

// metric collects one metric of the benchmarks named exactly by parts, in
// output order (one value per -count run).
func (s *step) metric(unit string, parts ...string) []float64 {
	var out []float64
	for _, r := range s.benchmarks() {
		if slices.Equal(r.Parts, parts) {
			if v, ok := r.Metrics[unit]; ok {
				out = append(out, v)
			}
		}
	}
	return out
}

var benchKV = regexp.MustCompile(`BENCH\s+(.*)$`)

// kv collects the values of `BENCH name=value ...` lines, by name, in
// output order.
func (s *step) kv() map[string][]float64 {
	out := map[string][]float64{}
	for _, l := range s.Lines {
		m := benchKV.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		for _, f := range strings.Fields(m[1]) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				out[k] = append(out[k], x)
			}
		}
	}
	return out
}

// point is one point of a scaling curve: median, minimum and maximum.
type point struct{ X, Med, Lo, Hi float64 }

// series collects `SERIES name x median min max` lines, by name.
func (s *step) series() map[string][]point {
	out := map[string][]point{}
	for _, l := range s.Lines {
		f := strings.Fields(l)
		i := slices.Index(f, "SERIES")
		if i < 0 || len(f) < i+6 {
			continue
		}
		var v [4]float64
		ok := true
		for k := range v {
			var err error
			if v[k], err = strconv.ParseFloat(f[i+2+k], 64); err != nil {
				ok = false
			}
		}
		if ok {
			out[f[i+1]] = append(out[f[i+1]], point{v[0], v[1], v[2], v[3]})
		}
	}
	return out
}

// word returns the value of the first `KEY value` line.
func (s *step) word(key string) string {
	for _, l := range s.Lines {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), key+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// machine reads bench.sh's machine.txt: `key: value` lines in order.
func machine(dir string) ([][2]string, error) {
	f, err := os.Open(filepath.Join(dir, "machine.txt"))
	if err != nil {
		return nil, fmt.Errorf("read machine: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
			out = append(out, [2]string{k, v})
		}
	}
	return out, sc.Err()
}

// stats is the median, minimum and maximum of xs.
type stats struct {
	Med, Lo, Hi float64
	N           int
}

func statsOf(xs []float64) stats {
	if len(xs) == 0 {
		return stats{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return stats{med, s[0], s[n-1], n}
}

// pairRatios divides a[i] by b[i]: ratios pair by pair, each pair from one
// run.
func pairRatios(a, b []float64) []float64 {
	var out []float64
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}
