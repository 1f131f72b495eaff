package ui

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// cookieName holds an opaque session id; the token itself never leaves the
// login request.
const cookieName = "virtcloud_session"

// sessionIdle ends a session nobody used for this long; maxSessions bounds
// the memory a flood of logins can take.
const (
	sessionIdle = 8 * time.Hour
	maxSessions = 10000
)

// sessions are the signed-in browsers of this server process. They live in
// memory: a restart (which also reloads the tokens) signs everyone out.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
}

type session struct {
	name string
	seen time.Time
}

func newSessions() *sessions { return &sessions{byID: map[string]*session{}} }

func (s *sessions) add(name string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails: since Go 1.24 it crashes the program instead
	id := hex.EncodeToString(b)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= maxSessions {
		for k, v := range s.byID {
			if now.Sub(v.seen) > sessionIdle {
				delete(s.byID, k)
			}
		}
		if len(s.byID) >= maxSessions { // still full: the oldest one goes
			var oldest string
			for k, v := range s.byID {
				if oldest == "" || v.seen.Before(s.byID[oldest].seen) {
					oldest = k
				}
			}
			delete(s.byID, oldest)
		}
	}
	s.byID[id] = &session{name: name, seen: now}
	return id
}

func (s *sessions) get(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.byID[id]
	if se == nil {
		return "", false
	}
	if time.Since(se.seen) > sessionIdle {
		delete(s.byID, id)
		return "", false
	}
	se.seen = time.Now()
	return se.name, true
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

func bearer(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok, ok && tok != ""
}

func setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: "/ui/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// login takes the token from the form body (never the URL) and starts a
// session.
func (p *page) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	tok := strings.TrimSpace(r.PostFormValue("token"))
	name, ok := p.src.Reader(tok)
	if tok == "" || !ok {
		w.Header().Set("Cache-Control", "no-store")
		p.render(w, http.StatusUnauthorized, view{Error: "unknown token: sign in with a token from the server's [[tokens]] (a viewer token is enough)"})
		return
	}
	setCookie(w, r, p.sessions.add(name), 0)
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (p *page) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		p.sessions.drop(c.Value)
	}
	setCookie(w, r, "", -1)
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}
