// Package client is the Go client of the lease server's HTTP API, used by
// vcctl, the scheduler hooks and vc-dom0: one typed method per endpoint, with
// the request and answer types of internal/api.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/internal/config"
)

// Lease and friends are the API's own types.
type (
	Lease         = api.Lease
	Pool          = api.Pool
	CreateRequest = api.CreateRequest
)

// Client talks to one lease server.
type Client struct {
	base  string
	shown string // base without its password, for messages
	token string
	http  *http.Client
	// PollInterval is how often WaitActive and WaitReleased poll.
	PollInterval time.Duration
}

// transport keeps connections to the lease server open between calls; the
// default keeps only two idle ones per host, so a busy controller would
// open a new TCP connection for nearly every request.
var transport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}()

// New returns a client for server (http://host:port) with a bearer token.
func New(server, token string) *Client {
	return &Client{
		base:         strings.TrimRight(server, "/"),
		shown:        config.RedactURL(strings.TrimRight(server, "/")),
		token:        token,
		http:         &http.Client{Timeout: 2 * time.Minute, Transport: transport},
		PollInterval: 100 * time.Millisecond,
	}
}

// WithHTTPClient replaces the HTTP client (TLS settings, timeouts).
func (c *Client) WithHTTPClient(h *http.Client) *Client { c.http = h; return c }

// APIError is an error answer of the server.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, e.Code)
}

// Code returns the API error code of err, or "".
func Code(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Unreachable reports whether err means the server could not be reached or did
// not answer at all (as opposed to an answer that refused the request).
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var e *APIError
	if errors.As(err, &e) {
		return e.Status == http.StatusServiceUnavailable && e.Code == api.CodeUnavailable ||
			e.Status == http.StatusBadGateway || e.Status == http.StatusGatewayTimeout
	}
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded)
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		// The parser's message quotes the whole URL, password and all.
		return 0, fmt.Errorf("%s %s: not a valid server URL", method, c.shown)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, c.shown, err)
	}
	defer func() { _ = resp.Body.Close() }() // read fully or abandoned: nothing to report
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		var eb api.ErrorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
			return resp.StatusCode, &APIError{Status: resp.StatusCode, Code: "http_" + fmt.Sprint(resp.StatusCode), Message: strings.TrimSpace(string(b))}
		}
		apiErr := &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
		// A network_fault answer also carries the failed lease.
		if out != nil {
			var withLease struct {
				Lease json.RawMessage `json:"lease"`
			}
			if json.Unmarshal(b, &withLease) == nil && len(withLease.Lease) > 0 {
				_ = json.Unmarshal(withLease.Lease, out)
			}
		}
		return resp.StatusCode, apiErr
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode answer: %w", err)
		}
	}
	return resp.StatusCode, nil
}

func leasePath(job string, rest string) string {
	return "/v1/leases/" + url.PathEscape(job) + rest
}

// Create asks for a lease; created is false when the job already had one.
func (c *Client) Create(ctx context.Context, r CreateRequest) (*Lease, bool, error) {
	var l Lease
	st, err := c.do(ctx, http.MethodPost, "/v1/leases", r, &l)
	if err != nil {
		return nil, false, err
	}
	return &l, st == http.StatusCreated, nil
}

// Get reads one lease.
func (c *Client) Get(ctx context.Context, job string) (*Lease, error) {
	var l Lease
	if _, err := c.do(ctx, http.MethodGet, leasePath(job, ""), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// History reads one lease's audit trail.
func (c *Client) History(ctx context.Context, job string) ([]api.Event, error) {
	var ev []api.Event
	if _, err := c.do(ctx, http.MethodGet, leasePath(job, "/history"), nil, &ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// List reads every lease the server knows.
func (c *Client) List(ctx context.Context) ([]Lease, error) {
	var ls []Lease
	if _, err := c.do(ctx, http.MethodGet, "/v1/leases", nil, &ls); err != nil {
		return nil, err
	}
	return ls, nil
}

// Commit asks the server to configure the network. It returns the lease in
// state active, or committing when the server is still working (poll Get).
func (c *Client) Commit(ctx context.Context, job string, token int64) (*Lease, error) {
	var l Lease
	if _, err := c.do(ctx, http.MethodPost, leasePath(job, "/commit"), api.TokenRequest{Token: token}, &l); err != nil {
		return &l, err
	}
	return &l, nil
}

// WaitActive commits and waits until the lease is active or failed.
func (c *Client) WaitActive(ctx context.Context, job string, token int64) (*Lease, error) {
	l, err := c.Commit(ctx, job, token)
	for err == nil && l.State == api.StateCommitting {
		if err = Sleep(ctx, c.PollInterval); err != nil {
			break
		}
		l, err = c.Get(ctx, job)
	}
	if err == nil && l.State != api.StateActive {
		err = &APIError{Status: http.StatusServiceUnavailable, Code: api.CodeNetworkFault,
			Message: fmt.Sprintf("lease %s is %s (%s), not active", job, l.State, l.Reason)}
	}
	return l, err
}

// Renew sets a new TTL from now.
func (c *Client) Renew(ctx context.Context, job string, token, ttlSeconds int64) (*Lease, error) {
	var l Lease
	if _, err := c.do(ctx, http.MethodPost, leasePath(job, "/renew"), api.RenewRequest{Token: token, TTLSeconds: ttlSeconds}, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Release ends a lease. The answer is released, or releasing while the
// switches are still being cleaned.
func (c *Client) Release(ctx context.Context, job string, token int64) (*Lease, error) {
	var l Lease
	if _, err := c.do(ctx, http.MethodPost, leasePath(job, "/release"), api.TokenRequest{Token: token}, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// ForceRelease ends a lease without its token (admins only).
func (c *Client) ForceRelease(ctx context.Context, job string) (*Lease, error) {
	var l Lease
	if _, err := c.do(ctx, http.MethodDelete, leasePath(job, "?force=true"), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Patch moves hosts into or out of a live lease (migration).
func (c *Client) Patch(ctx context.Context, job string, token int64, add, remove []string) (*Lease, error) {
	var l Lease
	if _, err := c.do(ctx, http.MethodPatch, leasePath(job, ""), api.PatchRequest{Token: token, AddHosts: add, RemoveHosts: remove}, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Pools reads every site's pool.
func (c *Client) Pools(ctx context.Context) ([]Pool, error) {
	var ps []Pool
	if _, err := c.do(ctx, http.MethodGet, "/v1/pools", nil, &ps); err != nil {
		return nil, err
	}
	return ps, nil
}

// RecoverStore rebuilds a safe state after Redis lost or rolled back its
// data (admin).
func (c *Client) RecoverStore(ctx context.Context) (*api.StoreRecovery, error) {
	var r api.StoreRecovery
	if _, err := c.do(ctx, http.MethodPost, "/v1/store/recover", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Switches lists the configured switches.
func (c *Client) Switches(ctx context.Context) ([]api.Switch, error) {
	var sws []api.Switch
	if _, err := c.do(ctx, http.MethodGet, "/v1/switches", nil, &sws); err != nil {
		return nil, err
	}
	return sws, nil
}

// SwitchVLANs reads what a switch reports: every VLAN, or only vid when
// vid > 0. For any role but admin the reading may be a shared, recent one
// (its AgeSeconds says how old).
func (c *Client) SwitchVLANs(ctx context.Context, name string, vid int) (*api.SwitchVLANs, error) {
	path := "/v1/switches/" + url.PathEscape(name)
	if vid > 0 {
		path += "?vlan=" + strconv.Itoa(vid)
	}
	var sv api.SwitchVLANs
	if _, err := c.do(ctx, http.MethodGet, path, nil, &sv); err != nil {
		return nil, err
	}
	return &sv, nil
}

// Audit compares the switches (sw, or all when "") with the leases; fix
// also repairs the drift (admins).
func (c *Client) Audit(ctx context.Context, sw string, fix bool) (*api.AuditReport, error) {
	q := url.Values{}
	if sw != "" {
		q.Set("switch", sw)
	}
	method := http.MethodGet
	if fix {
		method = http.MethodPost
		q.Set("fix", "true")
	}
	path := "/v1/audit"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var rep api.AuditReport
	if _, err := c.do(ctx, method, path, nil, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// Isolation checks the L2 networks the switches really form against the
// live leases.
func (c *Client) Isolation(ctx context.Context) (*api.Isolation, error) {
	var iso api.Isolation
	if _, err := c.do(ctx, http.MethodGet, "/v1/audit/isolation", nil, &iso); err != nil {
		return nil, err
	}
	return &iso, nil
}

// Health is nil when the server and its lease store answer, else the
// server's refusal (store_unavailable, store_lost) or why it was not reached.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, "/healthz", nil, nil)
	return err
}

// Do sends a request the typed methods would not make (tests send malformed
// ones with it) and decodes the answer into out. Every endpoint of the API
// has a typed method above; /metrics (Prometheus), /ui/ (a browser) and
// /v1/openapi.json (the API's description) are for other readers.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.do(ctx, method, path, body, out)
	return err
}

// Sleep waits d or until ctx ends, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
