// Package ui is the lease server's status page at /ui/: per site the VLAN
// map, the leases with their history and the switches as the last audit pass
// found them, kept current by polling a small JSON document. It reads
// everything through a Source, so it owns no store, device or token logic;
// the HTML is html/template, the script and style are embedded, and nothing
// is loaded from elsewhere.
package ui

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
)

// Source is what the page needs from the lease server.
type Source interface {
	// Reader names the holder of a token that may read, or reports false.
	Reader(token string) (name string, ok bool)
	// Status reads what the page shows now.
	Status(ctx context.Context) (*Status, error)
	// History reads a lease's events; ErrNoLease for an unknown job.
	History(ctx context.Context, job string) ([]api.Event, error)
}

// storeDown is all the page says of a failed read: the server's log has
// the details, which may name internal addresses.
const storeDown = "the lease store is unavailable"

// ErrNoLease is History's answer for a job without a lease.
var ErrNoLease = errors.New("no such lease")

// VLAN states besides the lease states.
const (
	Free        = "free"
	Quarantined = "quarantined"
)

// Status is the page's whole content, and the JSON of /ui/status.json.
type Status struct {
	At       time.Time   `json:"-"` // the answer's Date header says it, so unchanged content keeps its ETag
	Sites    []Site      `json:"sites"`
	Leases   []api.Lease `json:"leases"`
	Switches []Switch    `json:"switches"`
	// AuditAt is when the last audit pass ended; zero before the first.
	AuditAt time.Time `json:"audit_at"`
}

// Site is one site's pool.
type Site struct {
	Name  string `json:"name"`
	VLANs []VLAN `json:"vlans"`
	// Counts sums the map up in words (filled in by the page).
	Counts string `json:"counts"`
}

// VLAN is one pool VLAN.
type VLAN struct {
	VID   int    `json:"vid"`
	State string `json:"state"`
	Job   string `json:"job,omitempty"`
	Owner string `json:"owner,omitempty"`
}

// Switch is one configured switch with what the last audit pass found.
type Switch struct {
	Name    string `json:"name"`
	Site    string `json:"site"`
	Driver  string `json:"driver"`
	Address string `json:"address"`
	// Audited is false until an audit pass has read the switch.
	Audited   bool `json:"audited"`
	Reachable bool `json:"reachable"`
	// Drift counts the findings the last pass left, by kind.
	Drift map[string]int `json:"drift,omitempty"`
	// Reach and Finding say the above in words (filled in by the page).
	Reach   string `json:"reach"`
	Finding string `json:"finding"`
}

//go:embed page.html
var pageHTML string

//go:embed static
var static embed.FS

// Mount adds the page to mux: /ui/ and everything under it, and a redirect
// from / to /ui/.
func Mount(mux *http.ServeMux, src Source) {
	h := New(src)
	mux.Handle("/ui/", h)
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusFound))
}

// New returns the handler for everything under /ui/.
func New(src Source) http.Handler {
	p := &page{src: src, sessions: newSessions(), tmpl: template.Must(template.New("page").Funcs(funcs).Parse(pageHTML))}
	sub, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(sub)))
	mux.HandleFunc("GET /ui/{$}", p.index)
	mux.HandleFunc("POST /ui/login", p.login)
	mux.HandleFunc("POST /ui/logout", p.logout)
	mux.HandleFunc("GET /ui/status.json", p.needReader(p.status))
	mux.HandleFunc("GET /ui/history.json", p.needReader(p.history))
	return secure(mux)
}

// secure sets the headers every answer carries: nothing from other origins,
// no framing, no caching of what a token unlocked.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

type page struct {
	src      Source
	sessions *sessions
	tmpl     *template.Template
}

// reader is who asks: a valid bearer token or the session cookie.
func (p *page) reader(r *http.Request) (string, bool) {
	if tok, ok := bearer(r); ok {
		return p.src.Reader(tok)
	}
	if c, err := r.Cookie(cookieName); err == nil {
		return p.sessions.get(c.Value)
	}
	return "", false
}

func (p *page) needReader(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := p.reader(r); !ok {
			writeJSON(w, http.StatusUnauthorized, api.ErrorBody{Error: api.ErrorDetail{Code: api.CodeUnauthorized, Message: "sign in again: the session ended or the token is unknown"}})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	}
}

// view is the template's data.
type view struct {
	User  string
	Error string
	*Status
}

func (p *page) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	name, ok := p.reader(r)
	if !ok {
		p.render(w, http.StatusOK, view{})
		return
	}
	st, err := p.read(r.Context())
	if err != nil {
		p.render(w, http.StatusServiceUnavailable, view{User: name, Error: storeDown})
		return
	}
	p.render(w, http.StatusOK, view{User: name, Status: st})
}

func (p *page) render(w http.ResponseWriter, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = p.tmpl.Execute(w, v) // the header is sent; a failed write means the client left (the template's own faults are caught by its tests)
}

// read asks the source and puts what it found into words.
func (p *page) read(ctx context.Context) (*Status, error) {
	st, err := p.src.Status(ctx)
	if err != nil {
		return nil, err
	}
	for i := range st.Sites {
		st.Sites[i].Counts = counts(st.Sites[i].VLANs)
	}
	for i := range st.Switches {
		st.Switches[i].Reach, st.Switches[i].Finding = reach(st.Switches[i]), finding(st.Switches[i])
	}
	return st, nil
}

// status answers the page's poll; an unchanged status is a 304 by its ETag.
func (p *page) status(w http.ResponseWriter, r *http.Request) {
	st, err := p.read(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, api.ErrorBody{Error: api.ErrorDetail{Code: api.CodeUnavailable, Message: storeDown}})
		return
	}
	body, _ := json.Marshal(st)
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // the header is sent; a failed write means the client left
}

func (p *page) history(w http.ResponseWriter, r *http.Request) {
	job := r.URL.Query().Get("job")
	if err := api.CheckJob(job); err != nil {
		writeJSON(w, http.StatusBadRequest, api.ErrorBody{Error: api.ErrorDetail{Code: api.CodeBadRequest, Message: "job: " + err.Error()}})
		return
	}
	ev, err := p.src.History(r.Context(), job)
	switch {
	case errors.Is(err, ErrNoLease):
		writeJSON(w, http.StatusNotFound, api.ErrorBody{Error: api.ErrorDetail{Code: api.CodeNotFound, Message: "no lease for job " + job}})
		return
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, api.ErrorBody{Error: api.ErrorDetail{Code: api.CodeUnavailable, Message: storeDown}})
		return
	}
	writeJSON(w, http.StatusOK, ev)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the header is sent; a failed write means the client left
}
