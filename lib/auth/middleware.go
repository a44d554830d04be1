package auth

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/knshop/knshop/lib/httpapi"
)

type claimsKey struct{}

// WithClaims returns ctx carrying c.
func WithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// FromContext returns the verified claims Middleware put in ctx.
func FromContext(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}

// Middleware lets a request through only with a valid bearer token (401
// otherwise) whose role is one of roles (403 otherwise; no roles means any
// signed-in user). The claims are in the request's context.
func Middleware(v *Verifier, roles ...Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := v.FromRequest(r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="knshop", error="invalid_token"`)
				httpapi.WriteProblem(w, r, httpapi.Unauthorized("a valid access token is required"))
				return
			}
			if len(roles) > 0 && !slices.Contains(roles, c.Role) {
				httpapi.WriteProblem(w, r, httpapi.Forbidden("your role may not do this"))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
		})
	}
}

// FromRequest verifies the bearer token of r's Authorization header.
func (v *Verifier) FromRequest(r *http.Request) (Claims, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Claims{}, ErrInvalidToken
	}
	return v.Verify(strings.TrimSpace(token))
}
