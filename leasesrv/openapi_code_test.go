package leasesrv_test

// What the code says about the API, read from the source with go/types, so
// that openapi_test.go compares the document with the handlers as they are
// and no list kept by hand can drift from either.

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const (
	module = "github.com/virtcloud/virtcloud"
	apiPkg = module + "/internal/api"
	srvPkg = module + "/leasesrv"
	// httpapiPkg defines the routes added behind the server's front and
	// every error answer.
	httpapiPkg = srvPkg + "/httpapi"
	httpPkg    = "net/http"
)

// codeRoute is one pattern registered on the server's mux.
type codeRoute struct {
	method, path string
	auth         bool         // registered through route() or an Endpoint: a token is needed
	statuses     map[int]bool // 1xx-3xx statuses its handler can answer
	where        string
}

// errorPair is an error answer the server can give.
type errorPair struct {
	status int
	code   string
}

// codeAPI is the API as the code defines it.
type codeAPI struct {
	fset   *token.FileSet
	pkgs   map[string]*packages.Package
	decls  map[*types.Func]*ast.FuncDecl
	info   map[*ast.File]*types.Info
	routes map[string]*codeRoute // "GET /v1/leases/{job}"
	errors map[errorPair]string  // where each is made
	codes  map[string]string     // error codes: api.Code* constants and literal codes, with where
}

// patternRE reads a net/http ServeMux pattern: [METHOD ]PATH.
var patternRE = regexp.MustCompile(`^(?:(GET|HEAD|POST|PUT|PATCH|DELETE) )?(/\S*)$`)

// loadCode type-checks the server's packages (and extra, the packages the
// document's x-go-type names) from source and reads their routes, statuses
// and error codes.
func loadCode(t *testing.T, extra ...string) *codeAPI {
	t.Helper()
	cfg := &packages.Config{Fset: token.NewFileSet(), Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
		packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports}
	pkgs, err := packages.Load(cfg, append([]string{srvPkg + "/...", apiPkg}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	c := &codeAPI{fset: cfg.Fset, pkgs: map[string]*packages.Package{}, decls: map[*types.Func]*ast.FuncDecl{},
		info: map[*ast.File]*types.Info{}, routes: map[string]*codeRoute{}, errors: map[errorPair]string{}, codes: map[string]string{}}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("loading %s: %v", p.PkgPath, e)
		}
		c.pkgs[p.PkgPath] = p
		for _, f := range p.Syntax {
			c.info[f] = p.TypesInfo
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok {
					if fn, ok := p.TypesInfo.Defs[fd.Name].(*types.Func); ok {
						c.decls[fn] = fd
					}
				}
			}
		}
	}
	scope := c.pkgs[apiPkg].Types.Scope()
	for _, name := range scope.Names() {
		if k, ok := scope.Lookup(name).(*types.Const); ok && strings.HasPrefix(name, "Code") && k.Val().Kind() == constant.String {
			c.codes[constant.StringVal(k.Val())] = c.pos(k.Pos())
		}
	}
	for path, p := range c.pkgs {
		if path == srvPkg || strings.HasPrefix(path, srvPkg+"/") {
			for _, f := range p.Syntax {
				c.scan(t, f, p.TypesInfo)
			}
		}
	}
	return c
}

func (c *codeAPI) pos(p token.Pos) string {
	at := c.fset.Position(p)
	i := strings.Index(at.Filename, "/leasesrv/")
	if i < 0 {
		i = strings.Index(at.Filename, "/internal/")
	}
	return fmt.Sprintf("%s:%d", at.Filename[i+1:], at.Line)
}

// scan reads one file's route registrations and error answers.
func (c *codeAPI) scan(t *testing.T, f *ast.File, info *types.Info) {
	for _, d := range f.Decls {
		c.scanDecl(t, d, info)
	}
}

func (c *codeAPI) scanDecl(t *testing.T, d ast.Decl, info *types.Info) {
	ast.Inspect(d, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			switch name := calleeName(n.Fun); name {
			case "route", "HandleFunc", "Handle":
				h := 1
				if name == "route" {
					h = 2
				}
				if len(n.Args) > h {
					c.addRoute(t, info, n.Args[0], n.Args[h], name == "route")
				}
			}
		case *ast.CompositeLit:
			fields := map[string]ast.Expr{}
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok {
						fields[k.Name] = kv.Value
					}
				}
			}
			switch typeName(info.TypeOf(n)) {
			case httpapiPkg + ".Endpoint":
				c.addRoute(t, info, fields["Pattern"], fields["Handle"], true)
			case httpapiPkg + ".Error":
				c.addError(t, info, fields["Status"], fields["Code"], n.Pos())
			}
		}
		return true
	})
}

func calleeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

func typeName(t types.Type) string {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() != nil {
		return n.Obj().Pkg().Path() + "." + n.Obj().Name()
	}
	return ""
}

func constString(info *types.Info, e ast.Expr) (string, bool) {
	if e == nil {
		return "", false
	}
	if tv, ok := info.Types[e]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
		return constant.StringVal(tv.Value), true
	}
	return "", false
}

func constInt(info *types.Info, e ast.Expr) (int, bool) {
	if e == nil {
		return 0, false
	}
	if tv, ok := info.Types[e]; ok && tv.Value != nil {
		if v, ok := constant.Int64Val(tv.Value); ok {
			return int(v), true
		}
	}
	return 0, false
}

func (c *codeAPI) addRoute(t *testing.T, info *types.Info, pattern, handler ast.Expr, auth bool) {
	s, ok := constString(info, pattern)
	if !ok {
		switch p := pattern.(type) {
		case *ast.Ident:
			return // a helper's parameter (route): read at the helper's calls
		case *ast.SelectorExpr:
			if p.Sel.Name == "Pattern" {
				return // Handler registering the Endpoints: read at their literals
			}
		}
		if pattern != nil {
			t.Errorf("%s: a route whose pattern is not a constant; the OpenAPI test cannot read it", c.pos(pattern.Pos()))
		}
		return
	}
	m := patternRE.FindStringSubmatch(s)
	if m == nil || m[2] == "/" {
		return // "/" is the catch-all that answers not_found
	}
	method, path := m[1], strings.ReplaceAll(strings.TrimSuffix(m[2], "{$}"), "...}", "}")
	if method == "" {
		method = "GET"
	}
	r := &codeRoute{method: method, path: path, auth: auth, statuses: map[int]bool{}, where: c.pos(pattern.Pos())}
	c.statuses(handler, map[*types.Func]bool{}, r.statuses)
	if len(r.statuses) == 0 {
		r.statuses[200] = true // a handler that never sets a status answers 200
	}
	c.routes[method+" "+path] = r
}

func (c *codeAPI) addError(t *testing.T, info *types.Info, status, code ast.Expr, at token.Pos) {
	st, ok1 := constInt(info, status)
	cd, ok2 := constString(info, code)
	if !ok1 || !ok2 {
		t.Errorf("%s: an error answer whose status or code is not a constant; the OpenAPI test cannot read it", c.pos(at))
		return
	}
	c.errors[errorPair{st, cd}] = c.pos(at)
	if _, ok := c.codes[cd]; !ok {
		c.codes[cd] = c.pos(at)
	}
}

// statuses collects the non-error net/http Status constants that e (a
// handler: a function, method value, call or literal) and everything it
// calls within the module can answer with.
func (c *codeAPI) statuses(e ast.Node, seen map[*types.Func]bool, out map[int]bool) {
	if e == nil {
		return
	}
	var info *types.Info
	for f, i := range c.info {
		if f.Pos() <= e.Pos() && e.End() <= f.End() {
			info = i
		}
	}
	if info == nil {
		return
	}
	ast.Inspect(e, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok {
			return true
		}
		switch o := info.Uses[id].(type) {
		case *types.Const:
			if o.Pkg() != nil && o.Pkg().Path() == httpPkg && strings.HasPrefix(o.Name(), "Status") {
				if v, ok := constant.Int64Val(o.Val()); ok && v < 400 {
					out[int(v)] = true
				}
			}
		case *types.Func:
			fn := o.Origin()
			if d := c.decls[fn]; d != nil && !seen[fn] {
				seen[fn] = true
				c.statuses(d.Body, seen, out)
			}
		}
		return true
	})
}

// goField is one JSON field of a Go struct.
type goField struct {
	name     string
	typ      types.Type
	optional bool // omitempty or omitzero
}

// lookupType finds "import/path.Name" among the loaded packages.
func (c *codeAPI) lookupType(full string) (*types.Named, error) {
	i := strings.LastIndex(full, ".")
	if i < 0 {
		return nil, fmt.Errorf("%q is not import/path.Name", full)
	}
	p := c.pkgs[full[:i]]
	if p == nil {
		return nil, fmt.Errorf("package %s is not loaded", full[:i])
	}
	tn, ok := p.Types.Scope().Lookup(full[i+1:]).(*types.TypeName)
	if !ok {
		return nil, fmt.Errorf("no type %s in %s", full[i+1:], full[:i])
	}
	n, ok := tn.Type().(*types.Named)
	if !ok {
		return nil, fmt.Errorf("%s is not a named type", full)
	}
	return n, nil
}

// jsonFields lists a struct's fields as encoding/json writes them.
func jsonFields(s *types.Struct) []goField {
	var out []goField
	for i := range s.NumFields() {
		f := s.Field(i)
		tag := reflectTag(s.Tag(i))
		if tag == "-" || (!f.Exported() && !f.Embedded()) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Embedded() && name == "" {
			if st, ok := f.Type().Underlying().(*types.Struct); ok {
				out = append(out, jsonFields(st)...)
				continue
			}
		}
		if name == "" {
			name = f.Name()
		}
		optional := false
		for o := range strings.SplitSeq(opts, ",") {
			optional = optional || o == "omitempty" || o == "omitzero"
		}
		out = append(out, goField{name: name, typ: f.Type(), optional: optional})
	}
	return out
}

func reflectTag(tag string) string {
	for tag != "" {
		key, rest, ok := strings.Cut(tag, ":\"")
		if !ok {
			return ""
		}
		val, after, _ := strings.Cut(rest, "\"")
		if strings.TrimSpace(key) == "json" {
			return val
		}
		tag = after
	}
	return ""
}

// apiStructs are the exported struct types with JSON tags in a package: the
// shapes the API sends and receives.
func (c *codeAPI) apiStructs(pkgPath string) []string {
	var out []string
	p := c.pkgs[pkgPath]
	for _, name := range p.Types.Scope().Names() {
		tn, ok := p.Types.Scope().Lookup(name).(*types.TypeName)
		if !ok || !tn.Exported() {
			continue
		}
		if s, ok := tn.Type().Underlying().(*types.Struct); ok {
			for i := range s.NumFields() {
				if reflectTag(s.Tag(i)) != "" {
					out = append(out, pkgPath+"."+name)
					break
				}
			}
		}
	}
	return out
}
