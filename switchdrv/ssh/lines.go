package ssh

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// linePattern is a dialect's prompt or error patterns, matched one line at
// a time. Go's regexp runs an alternation that is not anchored as a whole
// over every byte of its input, and a state read prints some ten kilobytes
// per switch; but prompts and most error messages start at a line's start
// (their patterns begin with ^), so those are joined into one alternation
// anchored as a whole, which fails at a line's first byte, and only the
// other patterns are searched along the line.
type linePattern struct {
	start *regexp.Regexp // the patterns anchored at the line's start, as ^(?:a|b)
	any   *regexp.Regexp // the others, as (?:c|d)
	// anyText is any over a whole text ((?m), blanks allowed around the
	// anchors trimming removes): one scan that settles most texts.
	anyText *regexp.Regexp
}

// compileLines compiles patterns, in their order, for find.
func compileLines(patterns []string) (*linePattern, error) {
	var start, any, anyText []string
	for _, p := range patterns {
		if anchored(p) {
			start = append(start, "(?:"+p[1:]+")")
			continue
		}
		any = append(any, "(?:"+p+")")
		// Checked against whole output, a line's blanks come along.
		if strings.HasPrefix(p, "^") {
			p = `^[ \t\r]*` + p[1:]
		}
		if strings.HasSuffix(p, "$") && !strings.HasSuffix(p, `\$`) {
			p = p[:len(p)-1] + `[ \t\r]*$`
		}
		anyText = append(anyText, "(?:"+p+")")
	}
	lp := &linePattern{}
	var err error
	if len(start) > 0 {
		if lp.start, err = regexp.Compile("^(?:" + strings.Join(start, "|") + ")"); err != nil {
			return nil, err
		}
	}
	if len(any) > 0 {
		if lp.any, err = regexp.Compile(strings.Join(any, "|")); err != nil {
			return nil, err
		}
		if lp.anyText, err = regexp.Compile("(?m)" + strings.Join(anyText, "|")); err != nil {
			return nil, err
		}
	}
	return lp, nil
}

// anchored reports whether every match of a pattern starts at the start
// of its text: a leading ^ that no top-level alternative escapes.
func anchored(p string) bool {
	if !strings.HasPrefix(p, "^") {
		return false
	}
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return false
	}
	return re.Op == syntax.OpBeginText || re.Op == syntax.OpConcat && re.Sub[0].Op == syntax.OpBeginText
}

// find returns where the first pattern that matches line (which holds no
// newline) matches, or nil. An anchored match is leftmost, so it wins.
func (lp *linePattern) find(line string) []int {
	if lp.start != nil {
		if loc := lp.start.FindStringIndex(line); loc != nil {
			return loc
		}
	}
	if lp.any != nil {
		return lp.any.FindStringIndex(line)
	}
	return nil
}

// findAll returns the matches in text's lines, one per line at most, as
// positions in text.
func (lp *linePattern) findAll(text string) [][]int {
	var locs [][]int
	at := 0
	for l := range strings.Lines(text) {
		line := strings.TrimSuffix(l, "\n")
		if loc := lp.find(line); loc != nil {
			locs = append(locs, []int{at + loc[0], at + loc[1]})
		}
		at += len(l)
	}
	return locs
}

// requiredLiteral returns a string that every match of a pattern contains
// (the longest literal of its top-level sequence), or "" when it cannot
// tell: where the string is absent, the pattern need not run.
func requiredLiteral(p string) string {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	best := ""
	for _, s := range parts {
		if s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0 && len(string(s.Rune)) > len(best) {
			best = string(s.Rune)
		}
	}
	return best
}
