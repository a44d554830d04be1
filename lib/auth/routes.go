package auth

import (
	"net/http"

	"github.com/knshop/knshop/lib/httpapi"
)

// Routes are an HTTP function's routes: public ones, and guarded ones whose
// bearer token one Verifier checks (Middleware). A function builds them in
// Start and serves them from Handle; until then (a nil *Routes) every
// request is answered 503, so the platform's early probes get no 404.
type Routes struct {
	mux      *http.ServeMux
	handler  http.Handler // mux, with its 404/405 in problem+json
	verifier *Verifier
}

// NewRoutes returns no routes yet, guarded with cfg's public key, issuer and
// audience.
func NewRoutes(cfg Config) *Routes {
	mux := http.NewServeMux()
	return &Routes{mux: mux, handler: httpapi.Mux(mux), verifier: NewVerifier(cfg)}
}

// Verifier is the Verifier of the guarded routes, for a handler that
// accepts a token or another proof (a signature) and checks it itself.
func (rs *Routes) Verifier() *Verifier { return rs.verifier }

// Public serves h at pattern (an http.ServeMux pattern) to anyone.
func (rs *Routes) Public(pattern string, h http.HandlerFunc) { rs.mux.Handle(pattern, h) }

// SignedIn serves h at pattern to a caller with a valid token whose role is
// one of roles (any role when none are named), as Middleware does.
func (rs *Routes) SignedIn(pattern string, h http.HandlerFunc, roles ...Role) {
	rs.mux.Handle(pattern, Middleware(rs.verifier, roles...)(h))
}

// Handle serves the routes: an HTTP function embeds the *Routes its Start
// builds, and this is its Handle.
func (rs *Routes) Handle(w http.ResponseWriter, r *http.Request) { rs.ServeHTTP(w, r) }

// ServeHTTP serves the routes, or 503 while there are none (nil rs).
func (rs *Routes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rs == nil {
		httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusServiceUnavailable, "unavailable",
			"the function is not started"))
		return
	}
	rs.handler.ServeHTTP(w, r)
}
