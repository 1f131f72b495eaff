package leasesrv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/types"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/virtcloud/virtcloud/leasesrv"
	"github.com/virtcloud/virtcloud/leasesrv/audit"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
)

const docName = "leasesrv/openapi.json"

// TestOpenAPI compares leasesrv/openapi.json with the code: every route the
// server registers, every status its handlers answer, every error it can
// give, every field of the Go types it sends and receives, in both
// directions; and it validates every example of the document.
func TestOpenAPI(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(leasesrv.OpenAPI)
	if err != nil {
		t.Fatalf("%s: %v", docName, err)
	}
	// Examples are checked below with a full JSON Schema 2020-12 validator.
	if err := doc.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", docName, err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("%s: openapi %q, want 3.1.0", docName, doc.OpenAPI)
	}
	var goPkgs []string
	for _, s := range doc.Components.Schemas {
		if gt, ok := s.Value.Extensions["x-go-type"].(string); ok {
			goPkgs = append(goPkgs, gt[:strings.LastIndex(gt, ".")])
		}
	}
	slices.Sort(goPkgs)
	goPkgs = slices.Compact(goPkgs)
	code := loadCode(t, goPkgs...)

	t.Run("routes", func(t *testing.T) { checkRoutes(t, doc, code) })
	t.Run("errors", func(t *testing.T) { checkErrors(t, doc, code) })
	t.Run("schemas", func(t *testing.T) { checkSchemas(t, doc, code, goPkgs) })
	t.Run("examples", checkExamples)
}

func checkRoutes(t *testing.T, doc *openapi3.T, code *codeAPI) {
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			documented[key] = true
			r := code.routes[key]
			if r == nil {
				t.Errorf("%s documents %s, but no handler serves it: remove it from paths, or register the route", docName, key)
				continue
			}
			docStatuses := map[int]bool{}
			for s := range op.Responses.Map() {
				if n, err := strconv.Atoi(s); err == nil && n < 400 {
					docStatuses[n] = true
				}
			}
			for _, s := range slices.Sorted(maps.Keys(r.statuses)) {
				if !docStatuses[s] {
					t.Errorf("%s (%s) answers %d, but %s has no %d response for it", key, r.where, s, docName, s)
				}
			}
			for _, s := range slices.Sorted(maps.Keys(docStatuses)) {
				if !r.statuses[s] {
					t.Errorf("%s documents a %d answer for %s, but its handler (%s) never gives one", docName, s, key, r.where)
				}
			}
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			if needs := len(security) > 0; needs != r.auth {
				t.Errorf("%s (%s): the handler needs a token: %v; %s says %v (set or clear security)", key, r.where, r.auth, docName, needs)
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(code.routes)) {
		if !documented[key] {
			t.Errorf("route %s (%s) is served but %s does not describe it: add it under paths", key, code.routes[key].where, docName)
		}
	}
}

// checkErrors: the error answers (status and code) the document shows in its
// examples are exactly those the code can give, and ErrorDetail.code lists
// exactly the codes the code defines.
func checkErrors(t *testing.T, doc *openapi3.T, code *codeAPI) {
	documented := map[errorPair]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for s, resp := range op.Responses.Map() {
				n, err := strconv.Atoi(s)
				if err != nil || n < 400 {
					continue
				}
				where := fmt.Sprintf("%s %s response %d", method, path, n)
				if resp.Ref != "" {
					where = resp.Ref
				}
				examples := 0
				for _, mt := range resp.Value.Content {
					for name, ex := range mt.Examples {
						var body struct{ Error struct{ Code string } }
						b, _ := json.Marshal(ex.Value.Value)
						if json.Unmarshal(b, &body) != nil || body.Error.Code == "" {
							t.Errorf("%s: %s example %q has no error.code", docName, where, name)
							continue
						}
						documented[errorPair{n, body.Error.Code}] = where
						examples++
					}
				}
				if examples == 0 {
					t.Errorf("%s: %s shows no example: each error answer names its codes by one example per code", docName, where)
				}
			}
		}
	}
	for _, p := range sortedPairs(code.errors) {
		if _, ok := documented[p]; !ok {
			t.Errorf("the server answers %d %s (%s), but no response of %s shows it: add an example with that code to a %d response", p.status, p.code, code.errors[p], docName, p.status)
		}
	}
	for _, p := range sortedPairs(documented) {
		if _, ok := code.errors[p]; !ok {
			t.Errorf("%s: %s shows error %d %s, which the server never gives", docName, documented[p], p.status, p.code)
		}
	}
	var enum []string
	for _, v := range doc.Components.Schemas["ErrorDetail"].Value.Properties["code"].Value.Enum {
		enum = append(enum, fmt.Sprint(v))
	}
	for _, c := range slices.Sorted(maps.Keys(code.codes)) {
		if !slices.Contains(enum, c) {
			t.Errorf("error code %q (%s) is missing from ErrorDetail.code's enum in %s", c, code.codes[c], docName)
		}
	}
	for _, c := range enum {
		if _, ok := code.codes[c]; !ok {
			t.Errorf("%s: ErrorDetail.code lists %q, which the code does not define", docName, c)
		}
	}
}

func sortedPairs[V any](m map[errorPair]V) []errorPair {
	return slices.SortedFunc(maps.Keys(m), func(a, b errorPair) int {
		if a.status != b.status {
			return a.status - b.status
		}
		return strings.Compare(a.code, b.code)
	})
}

// checkSchemas: each schema with x-go-type has exactly the JSON fields of
// that Go type, with matching JSON types; fields of a response type are
// required unless omitempty; and every JSON-tagged exported struct of the
// API packages has its schema.
func checkSchemas(t *testing.T, doc *openapi3.T, code *codeAPI, goPkgs []string) {
	inResponses := responseSchemas(t)
	byGoType := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(doc.Components.Schemas)) {
		s := doc.Components.Schemas[name].Value
		gt, _ := s.Extensions["x-go-type"].(string)
		if gt == "" {
			continue // a body the server assembles without a type of its own
		}
		byGoType[gt] = name
		n, err := code.lookupType(gt)
		if err != nil {
			t.Errorf("%s: schema %s: x-go-type %s: %v", docName, name, gt, err)
			continue
		}
		st, ok := n.Underlying().(*types.Struct)
		if !ok {
			t.Errorf("%s: schema %s: %s is not a struct", docName, name, gt)
			continue
		}
		where := fmt.Sprintf("%s (%s)", gt, code.pos(n.Obj().Pos()))
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("%s: schema %s: set additionalProperties: false (the server sends and accepts only %s's fields)", docName, name, gt)
		}
		fields := map[string]goField{}
		for _, f := range jsonFields(st) {
			fields[f.name] = f
			p := s.Properties[f.name]
			if p == nil {
				t.Errorf("field %q of %s is missing from schema %s in %s", f.name, where, name, docName)
				continue
			}
			for _, e := range checkType(doc, f.typ, p) {
				t.Errorf("%s: schema %s, property %s: %s", docName, name, f.name, e)
			}
			if inResponses[name] && slices.Contains(s.Required, f.name) == f.optional {
				if f.optional {
					t.Errorf("%s: schema %s: %q must not be required: %s omits it when empty (omitempty)", docName, name, f.name, where)
				} else {
					t.Errorf("%s: schema %s: %q must be required: %s always sends it", docName, name, f.name, where)
				}
			}
		}
		for _, p := range slices.Sorted(maps.Keys(s.Properties)) {
			if _, ok := fields[p]; !ok {
				t.Errorf("%s: schema %s has property %q, which %s does not have", docName, name, p, where)
			}
		}
		for _, r := range s.Required {
			if _, ok := fields[r]; !ok {
				t.Errorf("%s: schema %s requires %q, which %s does not have", docName, name, r, where)
			}
		}
	}
	for _, p := range goPkgs {
		for _, gt := range code.apiStructs(p) {
			if byGoType[gt] == "" {
				n, _ := code.lookupType(gt)
				t.Errorf("type %s (%s) is part of the API but %s has no schema for it (components.schemas with x-go-type)", gt, code.pos(n.Obj().Pos()), docName)
			}
		}
	}
}

// checkType says how a property's schema disagrees with the field's Go type.
func checkType(doc *openapi3.T, gt types.Type, ref *openapi3.SchemaRef) []string {
	if p, ok := gt.(*types.Pointer); ok {
		gt = p.Elem()
	}
	s := ref.Value
	want := func(typ string) []string {
		if s.Type == nil || !s.Type.Includes(typ) {
			var got []string
			if s.Type != nil {
				got = s.Type.Slice()
			}
			return []string{fmt.Sprintf("Go type %s is JSON %s, the schema says type %v", gt, typ, got)}
		}
		return nil
	}
	if n, ok := gt.(*types.Named); ok {
		if typeName(n) == "time.Time" {
			if s.Format != "date-time" {
				return []string{"a time.Time is a string of format date-time"}
			}
			return want("string")
		}
		if _, ok := n.Underlying().(*types.Struct); ok {
			name := strings.TrimPrefix(ref.Ref, "#/components/schemas/")
			target := doc.Components.Schemas[name]
			if target == nil || target.Value.Extensions["x-go-type"] != typeName(n) {
				return []string{fmt.Sprintf("Go type %s needs $ref to the schema whose x-go-type is %s (got %q)", gt, typeName(n), ref.Ref)}
			}
			return nil
		}
	}
	switch u := gt.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsString != 0:
			return want("string")
		case u.Info()&types.IsInteger != 0:
			return want("integer")
		case u.Info()&types.IsFloat != 0:
			return want("number")
		case u.Info()&types.IsBoolean != 0:
			return want("boolean")
		}
	case *types.Slice:
		if e := want("array"); e != nil {
			return e
		}
		if s.Items == nil {
			return []string{"an array needs items"}
		}
		return checkType(doc, u.Elem(), s.Items)
	case *types.Map:
		if e := want("object"); e != nil {
			return e
		}
		if s.AdditionalProperties.Schema == nil {
			return []string{"a map needs additionalProperties with the value's schema"}
		}
		return checkType(doc, u.Elem(), s.AdditionalProperties.Schema)
	}
	return []string{fmt.Sprintf("Go type %s has no JSON counterpart this test knows", gt)}
}

// rawDoc is the document as plain JSON, for walking by JSON pointer.
func rawDoc(t *testing.T) map[string]any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(leasesrv.OpenAPI))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

// responseSchemas are the component schemas reachable from a response.
func responseSchemas(t *testing.T) map[string]bool {
	raw := rawDoc(t)
	schemas := raw["components"].(map[string]any)["schemas"].(map[string]any)
	out := map[string]bool{}
	var walk func(v any, inResponse bool)
	walk = func(v any, inResponse bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if s, ok := c.(string); ok && k == "$ref" && inResponse && strings.HasPrefix(s, "#/components/schemas/") {
					name := strings.TrimPrefix(s, "#/components/schemas/")
					if !out[name] {
						out[name] = true
						walk(schemas[name], true)
					}
				}
				walk(c, inResponse || k == "responses")
			}
		case []any:
			for _, c := range v {
				walk(c, inResponse)
			}
		}
	}
	walk(raw["paths"], false)
	walk(raw["components"].(map[string]any)["responses"], true)
	return out
}

// pointer escapes one JSON pointer segment for a URL fragment.
func pointer(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		s = strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
		b.WriteString("/" + strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D", " ", "%20").Replace(s))
	}
	return b.String()
}

// schemaCompiler validates JSON against schemas of the document, by pointer.
func schemaCompiler(t *testing.T) func(ptr string) *jsonschema.Schema {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("openapi.json", rawDoc(t)); err != nil {
		t.Fatal(err)
	}
	return func(ptr string) *jsonschema.Schema {
		s, err := c.Compile("openapi.json#" + ptr)
		if err != nil {
			t.Fatalf("%s: schema at %s: %v", docName, ptr, err)
		}
		return s
	}
}

// checkExamples validates every example of the document (media types and
// parameters: example and examples; schemas: examples) against its schema,
// with a JSON Schema 2020-12 validator.
func checkExamples(t *testing.T) {
	raw := rawDoc(t)
	compile := schemaCompiler(t)
	resolve := func(ex any) any {
		m, _ := ex.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			v := any(raw)
			for _, seg := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
				v = v.(map[string]any)[seg]
			}
			m, _ = v.(map[string]any)
		}
		return m["value"]
	}
	n := 0
	validate := func(ptr []string, schemaPtr string, name string, v any) {
		if err := compile(schemaPtr).Validate(v); err != nil {
			t.Errorf("%s: example %q at %s does not match its schema: %v", docName, name, strings.Join(ptr, " / "), err)
		}
		n++
	}
	var walk func(v any, ptr []string)
	walk = func(v any, ptr []string) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["schema"].(map[string]any); ok {
				schemaPtr := pointer(append(slices.Clone(ptr), "schema")...)
				if exs, ok := v["examples"].(map[string]any); ok {
					for name, ex := range exs {
						validate(ptr, schemaPtr, name, resolve(ex))
					}
				}
				if ex, ok := v["example"]; ok {
					validate(ptr, schemaPtr, "example", ex)
				}
			}
			if exs, ok := v["examples"].([]any); ok { // a schema's own examples
				for i, ex := range exs {
					validate(ptr, pointer(ptr...), strconv.Itoa(i), ex)
				}
			}
			for k, c := range v {
				walk(c, append(slices.Clone(ptr), k))
			}
		case []any:
			for i, c := range v {
				walk(c, append(slices.Clone(ptr), strconv.Itoa(i)))
			}
		}
	}
	walk(raw, nil)
	if n == 0 {
		t.Fatalf("%s has no examples", docName)
	}
	t.Logf("%d examples checked", n)
}

// TestOpenAPIAnswersMatch calls a real server (real Redis) through every
// lease, pool, switch and service route, and checks each answer's status,
// content type and body against the document: what the handlers really send
// is what the document says, field by field.
func TestOpenAPIAnswersMatch(t *testing.T) {
	e := leasetest.Start(t, leasetest.Options{})
	rec := audit.New(e.Cfg, e.Svc.Store(), e.Fleet, slog.New(slog.NewTextHandler(io.Discard, nil)))
	hs := httptest.NewServer(e.Svc.Handler(rec.Endpoints()...))
	defer hs.Close()
	raw := rawDoc(t)
	compile := schemaCompiler(t)
	paths := raw["paths"].(map[string]any)

	call := func(method, template, path, token, body string, want int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		op, _ := paths[template].(map[string]any)[strings.ToLower(method)].(map[string]any)
		if op == nil {
			t.Fatalf("%s documents no %s %s", docName, method, template)
		}
		status := strconv.Itoa(resp.StatusCode)
		r, _ := op["responses"].(map[string]any)[status].(map[string]any)
		if r == nil {
			t.Fatalf("%s %s answered %d, which %s does not document", method, path, resp.StatusCode, docName)
		}
		ptr := pointer("paths", template, strings.ToLower(method), "responses", status)
		if ref, ok := r["$ref"].(string); ok {
			ptr = pointer(strings.Split(strings.TrimPrefix(ref, "#/"), "/")...)
			r = raw["components"].(map[string]any)["responses"].(map[string]any)[ref[strings.LastIndex(ref, "/")+1:]].(map[string]any)
		}
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if _, ok := r["content"].(map[string]any)[mt]; !ok {
			t.Fatalf("%s %s: content type %q is not documented for %d", method, path, mt, resp.StatusCode)
		}
		if mt == "application/json" {
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			if err := compile(ptr + pointer("content", mt, "schema")).Validate(v); err != nil {
				t.Errorf("%s %s %d: the answer does not match %s: %v\n%s", method, path, resp.StatusCode, docName, err, b)
			}
		}
		return b
	}
	const sched, admin, viewer = leasetest.SchedulerToken, leasetest.AdminToken, leasetest.ViewerToken
	const job = "/v1/leases/{job}"
	if b := call("GET", "/v1/openapi.json", "/v1/openapi.json", "", "", 200); !bytes.Equal(b, leasesrv.OpenAPI) {
		t.Error("GET /v1/openapi.json does not serve the embedded document")
	}
	call("GET", "/healthz", "/healthz", "", "", 200)
	call("GET", "/metrics", "/metrics", "", "", 200)
	var l struct{ Token int64 }
	json.Unmarshal(call("POST", "/v1/leases", "/v1/leases", sched, `{"job":"4711.pbs","owner":"alice","hosts":["skirit82-1","skurut9-1"]}`, 201), &l)
	call("POST", "/v1/leases", "/v1/leases", sched, `{"job":"4711.pbs","owner":"alice","hosts":["skirit82-1","skurut9-1"]}`, 200)
	call("POST", "/v1/leases", "/v1/leases", sched, `{"job":"4711.pbs","hosts":["konos23-1"]}`, 409)
	call("POST", "/v1/leases", "/v1/leases", viewer, `{"job":"1","hosts":["skirit82-1"]}`, 403)
	call("POST", "/v1/leases", "/v1/leases", sched, `{"job":"1","hosts":["nowhere"]}`, 400)
	call("POST", "/v1/leases", "/v1/leases", sched, `{"job":"1","owner":"`+strings.Repeat("a", 70000)+`"}`, 413)
	call("GET", "/v1/leases", "/v1/leases", "", "", 401)
	tok := fmt.Sprintf(`{"token":%d}`, l.Token)
	call("POST", job+"/commit", "/v1/leases/4711.pbs/commit", sched, tok, 200)
	call("POST", job+"/commit", "/v1/leases/4711.pbs/commit", sched, `{"token":999999}`, 409)
	call("POST", job+"/renew", "/v1/leases/4711.pbs/renew", sched, fmt.Sprintf(`{"token":%d,"ttl_seconds":7200}`, l.Token), 200)
	call("PATCH", job, "/v1/leases/4711.pbs", sched, fmt.Sprintf(`{"token":%d,"add_hosts":["skirit83-1"]}`, l.Token), 200)
	call("GET", "/v1/leases", "/v1/leases", viewer, "", 200)
	call("GET", job, "/v1/leases/4711.pbs", viewer, "", 200)
	call("GET", job, "/v1/leases/404.pbs", viewer, "", 404)
	call("GET", job+"/history", "/v1/leases/4711.pbs/history", viewer, "", 200)
	call("GET", "/v1/pools", "/v1/pools", viewer, "", 200)
	call("POST", job+"/release", "/v1/leases/4711.pbs/release", sched, tok, 200)
	call("POST", "/v1/leases", "/v1/leases", sched, `{"job":"4712.pbs","hosts":["konos23-1"]}`, 201)
	call("DELETE", job, "/v1/leases/4712.pbs?force=true", admin, "", 200)
	call("GET", "/v1/switches", "/v1/switches", viewer, "", 200)
	call("GET", "/v1/switches/{name}", "/v1/switches/nowhere", viewer, "", 404)
	call("GET", "/v1/audit", "/v1/audit", viewer, "", 200)
	call("POST", "/v1/audit", "/v1/audit?fix=true", admin, "", 200)
	call("POST", "/v1/audit", "/v1/audit?fix=true", viewer, "", 403)
	if ls, err := e.Client(viewer).List(context.Background()); err != nil || len(ls) != 2 {
		t.Fatalf("after the calls: %d leases, %v", len(ls), err)
	}
}
