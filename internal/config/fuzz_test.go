package config

import (
	"errors"
	"testing"
)

// FuzzParse: any bytes give a configuration or Problems, never a panic, and
// every problem names the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "[lease]\ndefault_ttl = \"x\"\n"))
	f.Add([]byte("[sites.a]\nvlans = [\"1-5000\"]\n"))
	f.Add([]byte("[[tokens]]\nrole = 5\n"))
	f.Add([]byte("a = [[[]]]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse("fuzz.toml", b)
		if err == nil {
			if c == nil {
				t.Fatal("no config and no error")
			}
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error is not a list of problems: %v", err)
		}
		for _, p := range ps {
			if p.File != "fuzz.toml" || p.Msg == "" {
				t.Fatalf("problem without file or message: %+v", p)
			}
		}
	})
}
