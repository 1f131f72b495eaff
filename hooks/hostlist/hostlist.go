// Package hostlist expands Slurm hostlist expressions such as
// "node[01-04,7],gpu[1-2]x[a]" into host names, the way Slurm writes the node
// list of a job into SLURM_JOB_NODELIST. The hooks' gate links it, so it
// builds its messages without fmt (fmt's and os's initialisers would cost
// every ordinary job's prologue).
package hostlist

import (
	"errors"
	"strconv"
	"strings"
)

// MaxHosts bounds an expansion: no job spans more nodes, and a hostile or
// mistyped range must not eat the controller's memory.
const MaxHosts = 65536

var errTooMany = errors.New("expands to more than " + strconv.Itoa(MaxHosts) + " hosts")

// Expand returns the host names of expr in order, without duplicates.
func Expand(expr string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, item := range splitTop(expr) {
		if item == "" {
			continue
		}
		names, err := expandOne(item, MaxHosts-len(out))
		if err != nil {
			return nil, errors.New("hostlist " + strconv.Quote(expr) + ": " + err.Error())
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// splitTop splits at commas outside brackets.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(parts, strings.TrimSpace(s[start:]))
}

// expandOne expands one item, which may hold several bracket groups
// ("rack[1-2]n[01-02]"): the cartesian product, leftmost group outermost.
func expandOne(item string, limit int) ([]string, error) {
	open := strings.IndexByte(item, '[')
	if open < 0 {
		if strings.IndexByte(item, ']') >= 0 {
			return nil, errors.New(strconv.Quote(item) + ": ']' without '['")
		}
		return []string{item}, nil
	}
	end := strings.IndexByte(item[open:], ']')
	if end < 0 {
		return nil, errors.New(strconv.Quote(item) + ": '[' without ']'")
	}
	end += open
	prefix, group, rest := item[:open], item[open+1:end], item[end+1:]
	if strings.IndexByte(prefix, ']') >= 0 || strings.IndexByte(group, '[') >= 0 {
		return nil, errors.New(strconv.Quote(item) + ": misplaced bracket")
	}
	nums, err := expandGroup(group, limit)
	if err != nil {
		return nil, errors.New(strconv.Quote(item) + ": " + err.Error())
	}
	tails := []string{""}
	if rest != "" {
		if tails, err = expandOne(rest, limit); err != nil {
			return nil, err
		}
	}
	if len(nums)*len(tails) > limit {
		return nil, errTooMany
	}
	out := make([]string, 0, len(nums)*len(tails))
	for _, n := range nums {
		for _, t := range tails {
			out = append(out, prefix+n+t)
		}
	}
	return out, nil
}

// expandGroup expands "01-04,7" into "01","02","03","04","7", keeping the
// zero padding of the range's lower bound.
func expandGroup(g string, limit int) ([]string, error) {
	var out []string
	for _, r := range strings.Split(g, ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		if !digits(lo) || isRange && !digits(hi) {
			return nil, errors.New("range " + strconv.Quote(r) + ": expected N or N-M with decimal digits")
		}
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, errors.New("range " + strconv.Quote(r) + ": " + err.Error())
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return nil, errors.New("range " + strconv.Quote(r) + ": " + err.Error())
			}
		}
		if b < a {
			return nil, errors.New("range " + strconv.Quote(r) + " runs backwards")
		}
		if b-a >= limit-len(out) {
			return nil, errTooMany
		}
		for v := a; v <= b; v++ {
			out = append(out, padded(v, len(lo)))
		}
	}
	return out, nil
}

// padded is v in decimal, zero-padded to width digits.
func padded(v, width int) string {
	s := strconv.Itoa(v)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

func digits(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
