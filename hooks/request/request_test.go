package request

import (
	"maps"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  string
	}{
		{in: "vcluster", want: map[string]string{}},
		{in: " vcluster ", want: map[string]string{}},
		{in: "vcluster:services=nfs+vpn:image=debian12:publish=tunnel:name=mpi-1",
			want: map[string]string{"services": "nfs+vpn", "image": "debian12", "publish": "tunnel", "name": "mpi-1"}},
		{in: "vcluster:publish=direct", want: map[string]string{"publish": "direct"}},
		{in: "vcluster:publish=public", err: `publish "public": must be none, tunnel or direct`},
		{in: "vcluster:image", err: `part 2 ("image"): expected key=value`},
		{in: "vcluster:color=red", err: `unknown key "color"`},
		{in: "vcluster:name=a:name=b", err: "name is given twice"},
		{in: "vcluster:services=", err: "services is empty"},
		{in: "vcluster:services=nfs+nfs", err: `service "nfs" is listed twice`},
		{in: "vcluster:services=NFS", err: `service "NFS"`},
		{in: "vcluster:image=a b", err: `image "a b"`},
		{in: "vcluster::", err: "part 2"},
		{in: "vclusterx", err: `must start with "vcluster"`},
		{in: "vcluster:" + strings.Repeat("a", MaxLen), err: "at most 512"},
	} {
		got, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) error = %v, want it to contain %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestIs(t *testing.T) {
	for in, want := range map[string]bool{
		"": false, "my comment": false, "vclusterfoo": false, "vcluster_2": false,
		"vcluster": true, "vcluster:image=x": true, "vcluster;image=x": true, " vcluster ": true,
	} {
		if got := Is(in); got != want {
			t.Errorf("Is(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzParse: never panics, and whatever it accepts starts with the keyword,
// has only known keys, and parses again to the same attributes.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"vcluster", "vcluster:services=nfs+vpn:image=x:publish=none:name=n",
		"vcluster:publish=bogus", "vcluster::", "vcluster:=", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		attrs, err := Parse(s)
		if err != nil {
			return
		}
		if !Is(s) {
			t.Fatalf("Parse accepted %q but Is says it is no request", s)
		}
		for k := range attrs {
			if k != "services" && k != "image" && k != "publish" && k != "name" {
				t.Fatalf("Parse(%q) produced unknown key %q", s, k)
			}
		}
		again, err := Parse(s)
		if err != nil || !maps.Equal(attrs, again) {
			t.Fatalf("Parse(%q) not stable", s)
		}
	})
}
