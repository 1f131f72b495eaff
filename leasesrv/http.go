package leasesrv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
	"github.com/virtcloud/virtcloud/leasesrv/httpapi"
	"github.com/virtcloud/virtcloud/leasesrv/store"
	"github.com/virtcloud/virtcloud/leasesrv/ui"
)

// Handler returns the HTTP API, with any extra endpoints.
func (s *Service) Handler(extra ...httpapi.Endpoint) http.Handler {
	auth := newAuthenticator(s.cfg)
	mux := http.NewServeMux()
	route := func(pattern string, act action, h func(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			status := s.serve(w, r, auth, act, h)
			s.metrics.requests.WithLabelValues(pattern, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
		})
	}
	route("POST /v1/leases", actWrite, s.hCreate)
	route("GET /v1/leases", actRead, s.hList)
	route("GET /v1/leases/{job}", actRead, s.hGet)
	route("GET /v1/leases/{job}/history", actRead, s.hHistory)
	route("POST /v1/leases/{job}/commit", actWrite, s.hCommit)
	route("POST /v1/leases/{job}/renew", actWrite, s.hRenew)
	route("POST /v1/leases/{job}/release", actWrite, s.hRelease)
	route("PATCH /v1/leases/{job}", actWrite, s.hPatch)
	route("DELETE /v1/leases/{job}", actForce, s.hForce)
	route("GET /v1/pools", actRead, s.hPools)
	route("POST /v1/store/recover", actForce, s.hRecoverStore)
	for _, e := range extra {
		act := actRead
		if e.Admin {
			act = actForce
		}
		route(e.Pattern, act, func(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
			return e.Handle(httpapi.WithAdmin(r, p.may(actForce)))
		})
	}
	mux.HandleFunc("GET /healthz", s.hHealth)
	mux.HandleFunc("GET /v1/openapi.json", hOpenAPI)
	mux.Handle("GET /metrics", s.metrics.handler())
	ui.Mount(mux, uiSource{s: s, auth: auth})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &httpapi.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Msg: fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path)})
	})
	return mux
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request, auth *authenticator, act action,
	h func(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error)) int {
	p, ok := auth.authenticate(r)
	if !ok {
		writeError(w, &httpapi.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized, Msg: "missing or unknown bearer token"})
		return http.StatusUnauthorized
	}
	if !p.may(act) {
		return writeError(w, forbidden(fmt.Sprintf("token %q (role %s) may not do this", p.name, p.role)))
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.Server.MaxBodyBytes)
	status, body, err := h(w, r, p)
	if err != nil {
		return writeError(w, s.classify(err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body) // the header is sent; a failed write means the client left
	return status
}

// classify maps an error to its HTTP answer. Unknown errors are store
// failures (503), since bad input is always caught as an InputError first.
func (s *Service) classify(err error) *httpapi.Error {
	var he *httpapi.Error
	var ie *InputError
	var se *store.StateError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &mbe):
		return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodeTooLarge, Msg: fmt.Sprintf("request body larger than %d bytes", mbe.Limit)}
	case errors.As(err, &ie):
		return &httpapi.Error{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Msg: ie.Msg}
	case errors.Is(err, store.ErrNotFound):
		return &httpapi.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Msg: "no such lease"}
	case errors.Is(err, store.ErrConflict):
		return &httpapi.Error{Status: http.StatusConflict, Code: api.CodeConflict, Msg: "the job already has a live lease for other hosts"}
	case errors.Is(err, store.ErrExhausted):
		return &httpapi.Error{Status: http.StatusConflict, Code: api.CodePoolExhausted, Msg: err.Error()}
	case errors.Is(err, store.ErrStale):
		return &httpapi.Error{Status: http.StatusConflict, Code: api.CodeStaleToken, Msg: "the token is not the lease's current token (a newer grant exists, or the token is wrong)"}
	case errors.As(err, &se):
		return &httpapi.Error{Status: http.StatusConflict, Code: api.CodeBadState, Msg: se.Error()}
	case errors.Is(err, ErrNetworkFault):
		return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: api.CodeNetworkFault, Msg: err.Error()}
	case errors.Is(err, context.Canceled):
		return &httpapi.Error{Status: 499, Code: "canceled", Msg: "request canceled"}
	}
	s.log.Error("store unavailable", "err", err)
	if errors.Is(err, redis.Nil) {
		return &httpapi.Error{Status: http.StatusInternalServerError, Code: api.CodeInternal, Msg: "inconsistent store answer"}
	}
	return &httpapi.Error{Status: http.StatusServiceUnavailable, Code: api.CodeUnavailable, Msg: "the lease store is unavailable"}
}

func writeError(w http.ResponseWriter, e *httpapi.Error) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	body := map[string]any{"error": api.ErrorDetail{Code: e.Code, Message: e.Msg}}
	if e.Lease != nil {
		body["lease"] = e.Lease
	}
	_ = json.NewEncoder(w).Encode(body) // the header is sent; a failed write means the client left
	return e.Status
}

// decode reads a JSON body strictly: unknown fields, trailing data and
// wrong types are all bad input.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return badInput("request body: empty; a JSON object is required")
		}
		return badInput("request body: %v", err)
	}
	if dec.More() {
		return badInput("request body: data after the JSON object")
	}
	return nil
}

func actor(p *principal) string { return p.name }

func (s *Service) hCreate(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
	var req api.CreateRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	hosts, err := s.resolveHosts(req.Hosts)
	if err != nil {
		return 0, nil, err
	}
	if !p.mayTouch(hosts) {
		return 0, nil, forbidden(fmt.Sprintf("token %q may only act for hosts %s", p.name, strings.Join(p.hosts, ", ")))
	}
	if err := s.checkTTL(p, req.TTLSeconds); err != nil {
		return 0, nil, err
	}
	if s.counted(p) {
		p.granting.Lock()
		defer p.granting.Unlock()
		if err := s.checkLeaseCount(r.Context(), p, req.Job, req.Owner); err != nil {
			return 0, nil, err
		}
	}
	l, created, err := s.Create(r.Context(), req, actor(p))
	if err != nil {
		return 0, nil, err
	}
	if created {
		return http.StatusCreated, l, nil
	}
	return http.StatusOK, l, nil
}

func (s *Service) hList(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
	ls, err := s.st.List(r.Context())
	return http.StatusOK, ls, err
}

func (s *Service) hGet(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
	l, err := s.Get(r.Context(), r.PathValue("job"))
	return http.StatusOK, l, err
}

func (s *Service) hHistory(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
	if _, err := s.Get(r.Context(), r.PathValue("job")); err != nil {
		return 0, nil, err
	}
	ev, err := s.st.History(r.Context(), r.PathValue("job"))
	return http.StatusOK, ev, err
}

// owned reads the lease a write names and checks that the caller may touch
// it. The lease is nil for a token bound to no host: the operation itself
// finds the lease.
func (s *Service) owned(ctx context.Context, job string, p *principal) (*api.Lease, error) {
	if len(p.hosts) == 0 {
		return nil, nil
	}
	l, err := s.Get(ctx, job)
	if err != nil {
		return nil, err
	}
	if !p.mayTouch(l.Hosts) {
		return nil, forbidden(fmt.Sprintf("token %q may only act for hosts %s", p.name, strings.Join(p.hosts, ", ")))
	}
	return l, nil
}

func (s *Service) hCommit(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
	var req api.TokenRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	job := r.PathValue("job")
	if _, err := s.owned(r.Context(), job, p); err != nil {
		return 0, nil, err
	}
	l, err := s.Commit(r.Context(), job, req.Token, false, actor(p))
	if errors.Is(err, ErrNetworkFault) {
		return 0, nil, &httpapi.Error{Status: http.StatusServiceUnavailable, Code: api.CodeNetworkFault,
			Msg: "the network could not be configured: " + l.Reason, Lease: l}
	}
	if err != nil {
		return 0, nil, err
	}
	switch l.State {
	case api.StateActive:
		return http.StatusOK, l, nil
	case api.StateCommitting:
		return http.StatusAccepted, l, nil
	}
	// Released or forced while it was being committed: the commit did not
	// make it active, so it is not a success.
	return 0, nil, &store.StateError{State: l.State}
}

func (s *Service) hRenew(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
	var req api.RenewRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if req.TTLSeconds == 0 {
		return 0, nil, badInput("ttl_seconds: required for renew")
	}
	job := r.PathValue("job")
	if _, err := s.owned(r.Context(), job, p); err != nil {
		return 0, nil, err
	}
	if err := s.checkTTL(p, req.TTLSeconds); err != nil {
		return 0, nil, err
	}
	l, err := s.Renew(r.Context(), job, req.Token, req.TTLSeconds, actor(p))
	return http.StatusOK, l, err
}

func (s *Service) hRelease(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
	var req api.TokenRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	return s.release(r.Context(), r.PathValue("job"), req.Token, false, p)
}

func (s *Service) hForce(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
	if r.URL.Query().Get("force") != "true" {
		return 0, nil, badInput("DELETE needs ?force=true; to release with the lease's token use POST .../release")
	}
	return s.release(r.Context(), r.PathValue("job"), 0, true, p)
}

func (s *Service) release(ctx context.Context, job string, token int64, force bool, p *principal) (int, any, error) {
	if _, err := s.owned(ctx, job, p); err != nil {
		return 0, nil, err
	}
	l, err := s.Release(ctx, job, token, force, actor(p))
	if err != nil {
		return 0, nil, err
	}
	if l.State == api.StateReleasing {
		return http.StatusAccepted, l, nil
	}
	return http.StatusOK, l, nil
}

func (s *Service) hPatch(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
	var req api.PatchRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	job := r.PathValue("job")
	if _, err := s.owned(r.Context(), job, p); err != nil {
		return 0, nil, err
	}
	l, err := s.Patch(r.Context(), job, req, actor(p), keepsOwnHost(p))
	return http.StatusOK, l, err
}

func (s *Service) hPools(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
	ps, err := s.Pools(r.Context())
	return http.StatusOK, ps, err
}

func (s *Service) hRecoverStore(w http.ResponseWriter, r *http.Request, p *principal) (int, any, error) {
	out, err := s.RecoverStore(r.Context(), actor(p))
	return http.StatusOK, out, err
}

// hHealth answers within its 2 s budget: 503 store_unavailable when Redis
// does not answer, 503 store_lost (with the reason) once the reaper found
// that Redis lost or rolled back its data.
func (s *Service) hHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.lostError(); err != nil {
		writeError(w, err.(*httpapi.Error))
		return
	}
	if err := s.st.Client().Ping(ctx).Err(); err != nil {
		writeError(w, &httpapi.Error{Status: http.StatusServiceUnavailable, Code: api.CodeUnavailable, Msg: "the lease store is unavailable"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintln(w, `{"status":"ok"}`)
}

// NewHTTPServer wraps the API in a server whose timeouts keep slow clients
// from holding connections: headers within read_header_timeout, the whole
// request within read_timeout; answers may take up to the commit timeout.
func NewHTTPServer(cfg *config.Config, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              cfg.Server.Listen,
		Handler:           h,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.Duration,
		ReadTimeout:       cfg.Server.ReadTimeout.Duration,
		WriteTimeout:      cfg.Lease.CommitTimeout.Duration + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
}

// Serve runs the API on ln until ctx ends, then shuts down gracefully.
func (s *Service) Serve(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() {
		var err error
		if s.cfg.Server.TLSCert != "" {
			err = srv.ServeTLS(ln, s.cfg.Server.TLSCert, s.cfg.Server.TLSKey)
		} else {
			err = srv.Serve(ln)
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	s.Wait()
	return err
}
