// Package httpapi is the seam between the lease server's HTTP front
// (leasesrv: authentication, roles, error answers) and the parts that add
// routes behind it (the reconciler's switch and audit endpoints): a route,
// an error answer and the caller's role. Both sides import it, so neither
// imports the other.
package httpapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/virtcloud/virtcloud/internal/api"
)

// Endpoint is a route added behind the server's authentication and error
// handling. Handle returns the status and the JSON body, or an error: an
// *Error carries its own status and code.
type Endpoint struct {
	Pattern string // e.g. "GET /v1/switches"
	Admin   bool   // admins only; else any authenticated role may call it
	Handle  func(r *http.Request) (int, any, error)
}

// Error is an answer other than 2xx: {"error":{"code","message"}}.
type Error struct {
	Status int
	Code   string // one of api.Code*
	Msg    string
	Lease  *api.Lease // network_fault answers carry the failed lease
}

func (e *Error) Error() string { return e.Msg }

// BadInput is a 400 answer naming what is wrong.
func BadInput(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Msg: fmt.Sprintf(format, args...)}
}

type adminKey struct{}

// WithAdmin records for the Endpoint's handler whether its caller is an admin.
func WithAdmin(r *http.Request, admin bool) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), adminKey{}, admin))
}

// Admin reports whether the caller of an Endpoint has the admin role.
func Admin(r *http.Request) bool {
	a, _ := r.Context().Value(adminKey{}).(bool)
	return a
}
