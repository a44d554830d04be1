package auth

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	jwtauth "github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/auth/authtest"
	"github.com/knshop/knshop/lib/identity/identitytest"
	"github.com/knshop/knshop/lib/storetest"
)

// BenchmarkHashPassword is one argon2id hash at the production cost.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := hashPassword("correct horse battery", DefaultArgon2); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogin is a whole POST /api/auth/login over loopback HTTP against
// the identity database, at the production hashing cost: rate limit
// counters, credential read, argon2id check, token signing, refresh token
// write.
func BenchmarkLogin(b *testing.B) {
	env := identitytest.New(b)
	cfg := env.With(map[string]string{
		"AUTH_ARGON2_MEMORY_KIB": strconv.Itoa(int(DefaultArgon2.MemoryKiB)),
		"AUTH_ARGON2_TIME":       strconv.Itoa(int(DefaultArgon2.Time)),
	})
	srv := storetest.ServeFunction(b, Name, New(), cfg)
	post := func(path, body string) int {
		resp, err := http.Post(srv+path, "application/json", stringsReader(body))
		if err != nil {
			b.Fatal(err)
		}
		if err := resp.Body.Close(); err != nil {
			b.Fatal(err)
		}
		return resp.StatusCode
	}
	if code := post("/api/auth/register", registration("bench@example.com", "bench password", "Bench")); code != 201 {
		b.Fatalf("register: %d", code)
	}
	body := creds("bench@example.com", "bench password")
	b.ResetTimer()
	for b.Loop() {
		if code := post("/api/auth/login", body); code != 200 {
			b.Fatalf("login: %d", code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkVerifyToken is the offline check every HTTP function makes.
func BenchmarkVerifyToken(b *testing.B) {
	keys := authtest.New(b)
	tok := keys.Token(b, "u1", jwtauth.Customer)
	v := jwtauth.NewVerifier(keys.Config)
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkMiddleware compares a bare handler with the same handler behind
// the shared JWT middleware, in process (no network), so the difference is
// the middleware's cost per request.
func BenchmarkMiddleware(b *testing.B) {
	keys := authtest.New(b)
	bearer := keys.Bearer(b, "u1", jwtauth.Customer)
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	cases := map[string]http.Handler{
		"bare":           bare,
		"jwt middleware": jwtauth.Middleware(jwtauth.NewVerifier(keys.Config))(bare),
		"jwt admin only": jwtauth.Middleware(jwtauth.NewVerifier(keys.Config), jwtauth.Admin)(bare),
	}
	for name, h := range cases {
		b.Run(name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/api/users/me", nil)
			r.Header.Set("Authorization", bearer)
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code >= 500 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
