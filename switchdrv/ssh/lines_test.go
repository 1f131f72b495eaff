package ssh

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestAnchored(t *testing.T) {
	for p, want := range map[string]bool{
		`^% Invalid input`:    true,
		`^a|^b`:               false, // two alternatives: searched, which is only slower
		`^a|b`:                false,
		`(?:^a)|b`:            false,
		`not found`:           false,
		`\A% x`:               false, // anchored, but not written with ^: searched, which is only slower
		`^[A-Za-z0-9._-]+>`:   true,
		`^(?:SSH@)?[a-z]+#`:   true,
		`^Value .* is out of`: true,
	} {
		if got := anchored(p); got != want {
			t.Errorf("anchored(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestRequiredLiteral(t *testing.T) {
	for p, want := range map[string]string{
		` ?--More-- ?`:             "--More--",
		`---\(more( \d+%)?\)--- ?`: "---(more",
		`lines \d+-\d+ `:           "lines ",
		`(?i)--more--`:             "", // any case: no one string
		`a|b`:                      "",
	} {
		if got := requiredLiteral(p); got != want {
			t.Errorf("requiredLiteral(%q) = %q, want %q", p, got, want)
		}
	}
}

// TestLinePatternsAsOneRegexp checks, on every line of the recorded
// transcripts and golden files, that each dialect finds prompts and errors
// line by line exactly where its patterns joined into one (?m) alternation
// find them in that line, and that a pager prompt is only ever found where
// its required literal is.
func TestLinePatternsAsOneRegexp(t *testing.T) {
	var lines []string
	for _, dir := range []string{"testdata/transcripts", "testdata/golden"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no files (%v)", dir, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, strings.Split(string(b), "\n")...)
		}
	}
	lines = append(lines, "Are you sure to continue?[Y/N]", "  ---- More ----", "sw1(config-if-range)#", "% Invalid input detected at '^' marker.")
	joined := func(ps []string) *regexp.Regexp {
		return regexp.MustCompile("(?m)(?:" + strings.Join(ps, ")|(?:") + ")")
	}
	prompts, errorsSeen, pagers := 0, 0, 0
	for _, name := range Dialects() {
		d := dialects[name]
		var ps []string
		for _, p := range []string{d.Prompts.Config, d.Prompts.Enable, d.Prompts.Exec, d.Prompts.Confirm} {
			if p != "" {
				ps = append(ps, p)
			}
		}
		promptRE := joined(ps)
		var errorRE *regexp.Regexp
		if len(d.Errors) > 0 {
			errorRE = joined(d.Errors)
		}
		for _, l := range lines {
			want, got := promptRE.FindStringIndex(l), d.prompts.find(l)
			if len(want) != len(got) || len(want) > 0 && (want[0] != got[0] || want[1] != got[1]) {
				t.Errorf("%s: prompt in %q: line by line %v, as one regexp %v", name, l, got, want)
			}
			if want != nil {
				prompts++
			}
			tl := strings.TrimSpace(l)
			wantErr := errorRE != nil && errorRE.MatchString(tl)
			if _, gotErr := d.failed(l); gotErr != wantErr {
				t.Errorf("%s: error in %q: line by line %v, as one regexp %v", name, l, gotErr, wantErr)
			}
			if wantErr {
				errorsSeen++
			}
			if d.moreRE != nil && d.moreRE.MatchString(l) {
				pagers++
				if !strings.Contains(l, d.moreLit) {
					t.Errorf("%s: pager prompt in %q without %q", name, l, d.moreLit)
				}
			}
		}
	}
	if prompts == 0 || errorsSeen == 0 || pagers == 0 {
		t.Fatalf("the lines hold %d prompts, %d errors, %d pager prompts: the comparison proves nothing", prompts, errorsSeen, pagers)
	}
}

// TestWholeOutputScanFindsWhatLinesMatch: the one scan over a whole output
// (anyText) must find every unanchored error pattern a trimmed line
// matches, also one that begins with ^ in an alternative only and a line
// the switch indents.
func TestWholeOutputScanFindsWhatLinesMatch(t *testing.T) {
	lp, err := compileLines([]string{`^Error|fatal$`, `denied`})
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"ok\n  Error: bad\nsw1#", "x\r\n\tfatal \r\nsw1#", "access denied\n"} {
		for l := range strings.Lines(out) {
			if lp.any.MatchString(strings.TrimSpace(l)) && !lp.anyText.MatchString(out) {
				t.Errorf("%q: line %q matches, the whole-output scan does not", out, l)
			}
		}
	}
}
