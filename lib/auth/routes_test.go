package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/knshop/knshop/lib/httpapi"
)

func TestRoutes(t *testing.T) {
	cfg := testConfig(t)
	signer, err := NewSigner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bearer := func(role Role) string {
		tok, _, err := signer.Sign("u-"+string(role), role)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	teapot := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }
	rs := NewRoutes(cfg)
	rs.Public("GET /open", teapot)
	rs.Public("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "42" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusTeapot)
	})
	rs.SignedIn("GET /mine", teapot)
	rs.SignedIn("GET /staff", teapot, Seller, Admin)
	var none *Routes

	cases := map[string]struct {
		routes      *Routes
		method      string
		path, authz string
		wantAllow   string
		want        int
		wantProblem bool
	}{
		"not started is 503 problem":           {routes: none, path: "/open", want: 503, wantProblem: true},
		"public route without a token":         {routes: rs, path: "/open", want: 418},
		"signed-in route without a token":      {routes: rs, path: "/mine", want: 401, wantProblem: true},
		"signed-in route, any role":            {routes: rs, path: "/mine", authz: bearer(Courier), want: 418},
		"role route, a role it does not allow": {routes: rs, path: "/staff", authz: bearer(Customer), want: 403, wantProblem: true},
		"role route, a role it allows":         {routes: rs, path: "/staff", authz: bearer(Seller), want: 418},
		"path values reach the handler":        {routes: rs, path: "/items/42", want: 418},
		"unknown path is 404 problem":          {routes: rs, path: "/nope", want: 404, wantProblem: true},
		"method not routed is 405 problem":     {routes: rs, method: http.MethodDelete, path: "/open", want: 405, wantProblem: true, wantAllow: "GET, HEAD"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, tc.path, nil)
			if tc.authz != "" {
				r.Header.Set("Authorization", tc.authz)
			}
			w := httptest.NewRecorder()
			tc.routes.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tc.want, w.Body.String())
			}
			if got := w.Header().Get("Content-Type") == httpapi.ProblemContentType; got != tc.wantProblem {
				t.Fatalf("Content-Type = %q", w.Header().Get("Content-Type"))
			}
			if tc.wantAllow != "" && w.Header().Get("Allow") != tc.wantAllow {
				t.Fatalf("Allow = %q, want %q", w.Header().Get("Allow"), tc.wantAllow)
			}
			if tc.wantProblem && !strings.Contains(w.Body.String(), `"status":`) {
				t.Fatalf("body is not a problem: %s", w.Body.String())
			}
		})
	}
	t.Run("the verifier checks the routes' tokens", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/mine", nil)
		r.Header.Set("Authorization", bearer(Admin))
		c, err := rs.Verifier().FromRequest(r)
		if err != nil || c.Role != Admin {
			t.Fatalf("FromRequest = %+v, %v", c, err)
		}
	})
}
