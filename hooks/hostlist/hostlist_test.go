package hostlist

import (
	"slices"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "skirit82-1", want: []string{"skirit82-1"}},
		{in: "node[01-04,7]", want: []string{"node01", "node02", "node03", "node04", "node7"}},
		{in: "a1,b[2-3],a1", want: []string{"a1", "b2", "b3"}},
		{in: "r[1-2]n[01-02]", want: []string{"r1n01", "r1n02", "r2n01", "r2n02"}},
		{in: "n[8-10]", want: []string{"n8", "n9", "n10"}},
		{in: "n[098-100]", want: []string{"n098", "n099", "n100"}},
		{in: "n[5]-ib", want: []string{"n5-ib"}},
		{in: "", want: nil},
		{in: "n[4-1]", err: "runs backwards"},
		{in: "n[1-", err: "'[' without ']'"},
		{in: "n1]", err: "']' without '['"},
		{in: "n[a-b]", err: "decimal digits"},
		{in: "n[[1]]", err: "misplaced bracket"},
		{in: "n[0-99999]", err: "more than 65536"},
		{in: "a[0-999]b[0-999]", err: "more than 65536"},
	} {
		got, err := Expand(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Expand(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzExpand: never panics, never exceeds MaxHosts, never yields duplicates
// or names with brackets or commas.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"node[01-04,7]", "r[1-2]n[01-02],x", "a[1-", "n[0-99999]", "a,,b", "[]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hosts, err := Expand(s)
		if err != nil {
			return
		}
		if len(hosts) > MaxHosts {
			t.Fatalf("Expand(%q): %d hosts", s, len(hosts))
		}
		seen := map[string]bool{}
		for _, h := range hosts {
			if seen[h] || strings.ContainsAny(h, "[],") {
				t.Fatalf("Expand(%q) gave bad or duplicate name %q", s, h)
			}
			seen[h] = true
		}
	})
}
