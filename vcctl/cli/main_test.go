package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// mainRun is one in-process vcctl run without a server: help and usage
// errors never reach one.
func mainRun(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Main(append([]string{"vcctl"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// Main keeps no state between calls: the help reads the same on the third
// call as on the first, and a usage error gets its exit code every time.
func TestMainAgainAndInParallel(t *testing.T) {
	check := func(t *testing.T) {
		code, out, _ := mainRun("--help")
		if code != ExitOK || strings.Count(out, "Exit codes:") != 1 || !strings.Contains(out, "audit") {
			t.Errorf("--help: exit %d, want one \"Exit codes:\" and the audit command:\n%s", code, out)
		}
		for _, args := range [][]string{
			{"lease", "create", "--job", "1"},                                           // a required flag missing
			{"lease", "list", "--no-such-flag"},                                         // a flag not defined
			{"switch", "show", "--no-such-flag"},                                        // in a command from another file
			{"--server", "http://127.0.0.1:1", "--timeout", "nonsense", "pool", "show"}, // a bad value
		} {
			if code, _, stderr := mainRun(args...); code != ExitUsage || strings.Count(stderr, "\n") != 1 {
				t.Errorf("%v: exit %d, stderr %q; want %d and one line", args, code, stderr, ExitUsage)
			}
		}
	}
	for range 3 {
		check(t)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); check(t) }()
	}
	wg.Wait()
}
