package virtcloud_test

// The package graph in README.md's Architecture section is checked against
// the module itself, so that a change of imports cannot leave the README
// behind: whoever adds, removes or moves an import between the module's
// packages updates the graph in the same change.

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/virtcloud/virtcloud"

// graphHeading introduces the fenced block that holds the graph.
const graphHeading = "### Package graph"

// graph maps a package (its path inside the module) to the module's
// packages it imports.
type graph map[string]map[string]bool

func TestREADMEPackageGraph(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := readmeGraph(readme)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	code := moduleGraph(t)
	for _, p := range slices.Sorted(maps.Keys(code)) {
		if doc[p] == nil {
			t.Errorf("README.md package graph: package %s is missing; add the line: %s -> %s", p, p, strings.Join(slices.Sorted(maps.Keys(code[p])), " "))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(doc)) {
		if code[p] == nil {
			t.Errorf("README.md package graph: %s is not a package of the module (or is a test helper, which the graph leaves out); remove its line", p)
			continue
		}
		for _, d := range slices.Sorted(maps.Keys(code[p])) {
			if !doc[p][d] {
				t.Errorf("README.md package graph: edge %s -> %s is missing (%s imports %s)", p, d, p, d)
			}
		}
		for _, d := range slices.Sorted(maps.Keys(doc[p])) {
			if !code[p][d] {
				t.Errorf("README.md package graph: edge %s -> %s is extra (%s does not import %s)", p, d, p, d)
			}
		}
	}
}

// readmeGraph reads the first fenced block after graphHeading. Each line is
// "PACKAGE -> IMPORTS..." (nothing after the arrow: it imports no package of
// the module); a line that starts with white space continues the imports of
// the line before; "#" starts a comment.
func readmeGraph(readme []byte) (graph, error) {
	_, after, ok := bytes.Cut(readme, []byte("\n"+graphHeading+"\n"))
	if !ok {
		return nil, fmt.Errorf("no %q heading", graphHeading)
	}
	_, block, ok := bytes.Cut(after, []byte("```"))
	if ok {
		_, block, ok = bytes.Cut(block, []byte("\n")) // the fence's info string
	}
	if !ok {
		return nil, fmt.Errorf("no fenced block after %q", graphHeading)
	}
	block, _, ok = bytes.Cut(block, []byte("```"))
	if !ok {
		return nil, fmt.Errorf("the fenced block after %q is not closed", graphHeading)
	}
	g := graph{}
	last := ""
	sc := bufio.NewScanner(bytes.NewReader(block))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last == "" {
				return nil, fmt.Errorf("package graph, line %d: a continuation with no package line before it", n)
			}
			for _, d := range strings.Fields(line) {
				g[last][d] = true
			}
			continue
		}
		pkg, deps, ok := strings.Cut(line, "->")
		pkg = strings.TrimSpace(pkg)
		if !ok || strings.ContainsAny(pkg, " \t") {
			return nil, fmt.Errorf("package graph, line %d: %q is not \"PACKAGE -> IMPORTS\"", n, sc.Text())
		}
		if g[pkg] != nil {
			return nil, fmt.Errorf("package graph, line %d: %s is listed twice", n, pkg)
		}
		g[pkg] = map[string]bool{}
		for _, d := range strings.Fields(deps) {
			g[pkg][d] = true
		}
		last = pkg
	}
	return g, nil
}

// moduleGraph is what `go list -f '{{.Imports}}' ./...` says: the imports
// of each package's non-test files, within the module. Test helpers
// (packages named *test, and e2e) and packages of tests alone are left out.
func moduleGraph(t *testing.T) graph {
	t.Helper()
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedImports}, "./...")
	if err != nil {
		t.Fatal(err)
	}
	g := graph{}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("loading %s: %v", p.PkgPath, e)
		}
		rel, ok := strings.CutPrefix(p.PkgPath, module+"/")
		if !ok || len(p.GoFiles) == 0 || strings.HasSuffix(path.Base(rel), "test") || rel == "e2e" {
			continue
		}
		g[rel] = map[string]bool{}
		for imp := range p.Imports {
			if d, ok := strings.CutPrefix(imp, module+"/"); ok {
				g[rel][d] = true
			}
		}
	}
	return g
}
