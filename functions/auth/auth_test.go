package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	jwtauth "github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/identity/identitytest"
	"github.com/knshop/knshop/lib/storetest"
)

// start serves a started auth function on a loopback server and returns
// the function and the server's URL.
func start(t *testing.T, cfg map[string]string) (*Auth, string) {
	t.Helper()
	f := New()
	return f, storetest.ServeFunction(t, Name, f, cfg)
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

func call(t *testing.T, srv string, method, path, body string, header ...string) answer {
	t.Helper()
	a := storetest.Call(t, method, srv+path, "", body, append([]string{"Content-Type", "application/json"}, header...)...)
	return answer{a.Status, a.Header, a.Body}
}

func creds(email, password string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	return string(b)
}

func registration(email, password, name string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password, "name": name})
	return string(b)
}

func TestRegister(t *testing.T) {
	env := identitytest.New(t)
	f, srv := start(t, env.Cfg)
	big := `{"email":"big@example.com","password":"long enough","name":"` + strings.Repeat("x", 1<<20) + `"}`
	cases := map[string]struct {
		body   string
		want   int
		field  string
		wantEv bool
	}{
		"customer by default":    {body: registration("Ann@Example.com", "correct horse", "Ann"), want: 201, wantEv: true},
		"seller":                 {body: `{"email":"sam@example.com","password":"correct horse","name":"Sam","role":"seller"}`, want: 201, wantEv: true},
		"admin role refused":     {body: `{"email":"eve@example.com","password":"correct horse","name":"Eve","role":"admin"}`, want: 400, field: "role"},
		"courier role refused":   {body: `{"email":"eve@example.com","password":"correct horse","name":"Eve","role":"courier"}`, want: 400, field: "role"},
		"short password":         {body: registration("eve@example.com", "short", "Eve"), want: 400, field: "password"},
		"4 two-byte characters":  {body: registration("eve@example.com", "éééé", "Eve"), want: 400, field: "password"},
		"8 two-byte characters":  {body: registration("ula@example.com", "éééééééé", "Ula"), want: 201, wantEv: true},
		"case-variant key":       {body: `{"EMAIL":"eve@example.com","password":"correct horse","name":"Eve"}`, want: 400, field: "EMAIL"},
		"repeated key":           {body: `{"email":"eve@example.com","password":"correct horse","name":"Eve","name":"Evil"}`, want: 400, field: "name"},
		"invalid UTF-8 in name":  {body: "{\"email\":\"eve@example.com\",\"password\":\"correct horse\",\"name\":\"Ev\xffe\"}", want: 400, field: "name"},
		"invalid UTF-8 in email": {body: "{\"email\":\"ev\xffe@example.com\",\"password\":\"correct horse\",\"name\":\"Eve\"}", want: 400, field: "email"},
		"bad email":              {body: registration("eve-at-example.com", "correct horse", "Eve"), want: 400, field: "email"},
		"email with display":     {body: registration("Eve <eve@example.com>", "correct horse", "Eve"), want: 400, field: "email"},
		"no name":                {body: registration("eve@example.com", "correct horse", " "), want: 400, field: "name"},
		"operator for a string":  {body: `{"email":{"$ne":null},"password":"correct horse","name":"Eve"}`, want: 400, field: "email"},
		"unknown field":          {body: `{"email":"eve@example.com","password":"correct horse","name":"Eve","isAdmin":true}`, want: 400, field: "isAdmin"},
		"malformed":              {body: `{"email":"eve@example.com",`, want: 400},
		"over 1 MiB":             {body: big, want: 400},
		"duplicate, other case":  {body: registration("ANN@example.COM", "another pass", "Ann 2"), want: 409},
	}
	order := []string{"customer by default", "seller"} // the duplicate needs Ann first
	for name := range cases {
		if name != order[0] && name != order[1] {
			order = append(order, name)
		}
	}
	for _, name := range order {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			before := len(env.Sink.Events())
			a := call(t, srv, "POST", "/api/auth/register", tc.body)
			if a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
			if tc.field != "" {
				var p struct{ Errors []struct{ Field string } }
				a.decode(t, &p)
				if len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
					t.Fatalf("problem %s does not name %q", a.body, tc.field)
				}
			}
			if !tc.wantEv {
				time.Sleep(50 * time.Millisecond)
				if n := len(env.Sink.Events()); n != before {
					t.Fatalf("a refused registration emitted %d events", n-before)
				}
				return
			}
			var ans tokenAnswer
			a.decode(t, &ans)
			if ans.User.ID == "" || ans.AccessToken == "" || ans.RefreshToken == "" || ans.TokenType != "Bearer" || ans.ExpiresIn != 900 {
				t.Fatalf("answer %s", a.body)
			}
			if ans.User.Email != strings.ToLower(ans.User.Email) {
				t.Fatalf("email not normalized: %q", ans.User.Email)
			}
			evs := env.Sink.WaitFor(t, before+1, 5*time.Second)
			var d events.UserRegisteredData
			if err := events.Decode(evs[before], &d); err != nil {
				t.Fatal(err)
			}
			if d.UserID != ans.User.ID || d.Email != ans.User.Email || d.Role != string(ans.User.Role) || evs[before].Source() != "/knshop/auth" {
				t.Fatalf("USER_REGISTERED %+v for %+v", d, ans.User)
			}
		})
	}
	if _, err := f.creds.ByEmail(context.Background(), "eve@example.com"); err == nil {
		t.Fatal("a refused registration stored a credential")
	}
}

func TestConcurrentRegistrationOfOneEmail(t *testing.T) {
	env := identitytest.New(t)
	_, srv := start(t, env.Cfg)
	statuses := storetest.AtOnce(8, func(i int) int {
		email := "race@example.com"
		if i%2 == 1 {
			email = "RACE@example.com"
		}
		return call(t, srv, "POST", "/api/auth/register", registration(email, "password "+strconv.Itoa(i), "Racer")).status
	})
	won := storetest.Tally(t, statuses, 201, 409)
	if won != 1 {
		t.Fatalf("%d registrations won, want 1: %v", won, statuses)
	}
	env.Sink.WaitFor(t, 1, 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	if got := len(env.Sink.Events()); got != 1 {
		t.Fatalf("%d USER_REGISTERED events, want 1", got)
	}
}

func TestLogin(t *testing.T) {
	env := identitytest.New(t)
	_, srv := start(t, env.Cfg)
	if a := call(t, srv, "POST", "/api/auth/register", registration("bob@example.com", "bobs password", "Bob")); a.status != 201 {
		t.Fatalf("register: %d %s", a.status, a.body)
	}
	cases := map[string]struct {
		body string
		want int
	}{
		"right password":        {creds("bob@example.com", "bobs password"), 200},
		"email in another case": {creds("  BOB@Example.com ", "bobs password"), 200},
		"wrong password":        {creds("bob@example.com", "bobs passwore"), 401},
		"unknown email":         {creds("nobody@example.com", "bobs password"), 401},
		"operators":             {`{"email":{"$ne":null},"password":{"$ne":null}}`, 400},
		"missing password":      {`{"email":"bob@example.com"}`, 400},
		"not json":              {`email=bob@example.com`, 400},
	}
	bodies := map[string]string{}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a := call(t, srv, "POST", "/api/auth/login", tc.body)
			if a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
			if tc.want == 200 {
				var ans tokenAnswer
				a.decode(t, &ans)
				if ans.User.Email != "bob@example.com" || ans.User.Role != jwtauth.Customer {
					t.Fatalf("answer %s", a.body)
				}
				if _, err := jwtauth.NewVerifier(env.Keys.Config).Verify(ans.AccessToken); err != nil {
					t.Fatalf("access token: %v", err)
				}
			}
			if tc.want == 401 {
				bodies[name] = string(a.body)
			}
		})
	}
	wrong, unknown := bodies["wrong password"], bodies["unknown email"]
	if wrong == "" || wrong != unknown {
		t.Fatalf("a wrong password and an unknown email answer differently:\n%s\n%s", wrong, unknown)
	}
}

func login(t *testing.T, srv string, email, password string) tokenAnswer {
	t.Helper()
	a := call(t, srv, "POST", "/api/auth/login", creds(email, password))
	if a.status != 200 {
		t.Fatalf("login: %d %s", a.status, a.body)
	}
	var ans tokenAnswer
	a.decode(t, &ans)
	return ans
}

func refresh(t *testing.T, srv string, token string) answer {
	t.Helper()
	return call(t, srv, "POST", "/api/auth/refresh", `{"refreshToken":"`+token+`"}`)
}

func TestRefreshRotationAndReuse(t *testing.T) {
	env := identitytest.New(t)
	_, srv := start(t, env.Cfg)
	call(t, srv, "POST", "/api/auth/register", registration("cat@example.com", "cats password", "Cat"))
	first := login(t, srv, "cat@example.com", "cats password")
	other := login(t, srv, "cat@example.com", "cats password") // another session: another family

	a := refresh(t, srv, first.RefreshToken)
	if a.status != 200 {
		t.Fatalf("refresh: %d %s", a.status, a.body)
	}
	var second tokenAnswer
	a.decode(t, &second)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == "" || second.User.Email != "cat@example.com" {
		t.Fatalf("rotation answer %s", a.body)
	}
	steps := []struct {
		name  string
		token string
		want  int
	}{
		{"the rotated token is refused", first.RefreshToken, 401},
		{"its reuse revoked the new one too", second.RefreshToken, 401},
		{"another session survives", other.RefreshToken, 200},
		{"an unknown token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if a := refresh(t, srv, s.token); a.status != s.want {
				t.Fatalf("status %d, want %d: %s", a.status, s.want, a.body)
			}
		})
	}
	t.Run("bad bodies", func(t *testing.T) {
		for _, body := range []string{`{"refreshToken":{"$ne":null}}`, `{}`, `{"refreshToken":"x","extra":1}`} {
			if a := call(t, srv, "POST", "/api/auth/refresh", body); a.status != 400 {
				t.Fatalf("%s: status %d", body, a.status)
			}
		}
	})
}

func TestConcurrentRefreshOfOneToken(t *testing.T) {
	env := identitytest.New(t)
	_, srv := start(t, env.Cfg)
	call(t, srv, "POST", "/api/auth/register", registration("dan@example.com", "dans password", "Dan"))
	tok := login(t, srv, "dan@example.com", "dans password").RefreshToken
	statuses := storetest.AtOnce(6, func(int) int { return refresh(t, srv, tok).status })
	ok := storetest.Tally(t, statuses, 200, 401)
	if ok != 1 {
		t.Fatalf("%d concurrent refreshes of one token succeeded, want 1: %v", ok, statuses)
	}
}

func TestLogout(t *testing.T) {
	env := identitytest.New(t)
	_, srv := start(t, env.Cfg)
	call(t, srv, "POST", "/api/auth/register", registration("eva@example.com", "evas password", "Eva"))
	s := login(t, srv, "eva@example.com", "evas password")
	rotated := refresh(t, srv, s.RefreshToken)
	var next tokenAnswer
	rotated.decode(t, &next)
	cases := []struct {
		name, body string
		want       int
	}{
		{"logout", `{"refreshToken":"` + next.RefreshToken + `"}`, 204},
		{"again", `{"refreshToken":"` + next.RefreshToken + `"}`, 204},
		{"unknown token", `{"refreshToken":"nope"}`, 204},
		{"operator", `{"refreshToken":{"$gt":""}}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if a := call(t, srv, "POST", "/api/auth/logout", tc.body); a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
		})
	}
	if a := refresh(t, srv, next.RefreshToken); a.status != 401 {
		t.Fatalf("refresh after logout: %d", a.status)
	}
}

func TestLoginRateLimit(t *testing.T) {
	env := identitytest.New(t)
	cfg := env.With(map[string]string{"TRUST_PROXY": "true"})
	_, a := start(t, cfg)
	_, b := start(t, cfg) // a second instance on the same database
	call(t, a, "POST", "/api/auth/register", registration("fay@example.com", "fays password", "Fay"))
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip + ", 10.0.0.1"} }

	t.Run("a guesser is limited and the owner still gets in", func(t *testing.T) {
		call(t, a, "POST", "/api/auth/register", registration("hal@example.com", "hals password", "Hal"))
		for i := range GuessFailureLimit {
			srv := a
			if i%2 == 1 {
				srv = b
			}
			if ans := call(t, srv, "POST", "/api/auth/login", creds("hal@example.com", "guess"+strconv.Itoa(i)), from("192.0.2.66")...); ans.status != 401 {
				t.Fatalf("guess %d: status %d", i+1, ans.status)
			}
		}
		for i := range 3 {
			ans := call(t, b, "POST", "/api/auth/login", creds("hal@example.com", "guess-more"+strconv.Itoa(i)), from("192.0.2.66")...)
			if ans.status != 429 {
				t.Fatalf("guess past the limit got %d, want 429", ans.status)
			}
			secs, err := strconv.Atoi(ans.header.Get("Retry-After"))
			if err != nil || secs < 1 || secs > int(LoginWindow/time.Second) {
				t.Fatalf("Retry-After %q", ans.header.Get("Retry-After"))
			}
		}
		// Even the right password from the guesser's address waits...
		if ans := call(t, a, "POST", "/api/auth/login", creds("hal@example.com", "hals password"), from("192.0.2.66")...); ans.status != 429 {
			t.Fatalf("right password from the guessing address: %d, want 429", ans.status)
		}
		// ...but the owner, from their own address, logs in.
		if ans := call(t, a, "POST", "/api/auth/login", creds("HAL@example.com", "hals password"), from("192.0.2.10")...); ans.status != 200 {
			t.Fatalf("the owner under a guessing attack got %d, want 200", ans.status)
		}
	})
	t.Run("per account, across many addresses and instances", func(t *testing.T) {
		for i := range AccountFailureLimit {
			srv := a
			if i%2 == 1 {
				srv = b
			}
			ip := fmt.Sprintf("192.0.%d.%d", 3+i/200, 1+i%200)
			if ans := call(t, srv, "POST", "/api/auth/login", creds("fay@example.com", "wrong"), from(ip)...); ans.status != 401 {
				t.Fatalf("failure %d: status %d", i+1, ans.status)
			}
		}
		ans := call(t, b, "POST", "/api/auth/login", creds("FAY@example.com", "fays password"), from("192.0.2.99")...)
		if ans.status != 429 {
			t.Fatalf("after %d failures from as many addresses the right password got %d, want 429", AccountFailureLimit, ans.status)
		}
	})
	t.Run("per client address", func(t *testing.T) {
		for i := range AddressFailureLimit {
			email := "nobody" + strconv.Itoa(i) + "@example.com"
			if ans := call(t, a, "POST", "/api/auth/login", creds(email, "wrong"), from("198.51.100.7")...); ans.status != 401 {
				t.Fatalf("failure %d: status %d", i+1, ans.status)
			}
		}
		if ans := call(t, b, "POST", "/api/auth/login", creds("someone@example.com", "x"), from("198.51.100.7")...); ans.status != 429 || ans.header.Get("Retry-After") == "" {
			t.Fatalf("address over its limit: %d %v", ans.status, ans.header)
		}
		if ans := call(t, b, "POST", "/api/auth/login", creds("someone@example.com", "x"), from("198.51.100.8")...); ans.status != 401 {
			t.Fatalf("another address is limited too: %d", ans.status)
		}
	})
	t.Run("successes do not count", func(t *testing.T) {
		call(t, a, "POST", "/api/auth/register", registration("gus@example.com", "gus password", "Gus"))
		for i := range GuessFailureLimit + 3 {
			if ans := call(t, a, "POST", "/api/auth/login", creds("gus@example.com", "gus password"), from("203.0.113.5")...); ans.status != 200 {
				t.Fatalf("login %d: %d", i+1, ans.status)
			}
		}
	})
}

func TestAdminEnsured(t *testing.T) {
	env := identitytest.New(t)
	cfg := env.With(map[string]string{"ADMIN_EMAIL": "Root@Example.com", "ADMIN_PASSWORD": "admin password"})
	start(t, cfg)
	_, srv := start(t, cfg) // a restart, or a second instance
	ans := login(t, srv, "root@example.com", "admin password")
	c, err := jwtauth.NewVerifier(env.Keys.Config).Verify(ans.AccessToken)
	if err != nil || c.Role != jwtauth.Admin {
		t.Fatalf("admin token %+v, %v", c, err)
	}
	evs := env.Sink.WaitFor(t, 1, 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	if n := len(env.Sink.Events()); n != 1 {
		t.Fatalf("%d USER_REGISTERED for the admin, want 1", n)
	}
	var d events.UserRegisteredData
	if err := events.Decode(evs[0], &d); err != nil || d.Role != "admin" || d.UserID != ans.User.ID {
		t.Fatalf("event %+v, %v", d, err)
	}

	t.Run("a customer holding the email is not promoted", func(t *testing.T) {
		env := identitytest.New(t)
		_, srv := start(t, env.Cfg)
		call(t, srv, "POST", "/api/auth/register", registration("boss@example.com", "squatter pass", "Squatter"))
		_, srv2 := start(t, env.With(map[string]string{"ADMIN_EMAIL": "boss@example.com", "ADMIN_PASSWORD": "admin password"}))
		got := login(t, srv2, "boss@example.com", "squatter pass")
		if got.User.Role != jwtauth.Customer {
			t.Fatalf("squatter became %s", got.User.Role)
		}
	})
}

func TestJWKSVerifiesIssuedTokens(t *testing.T) {
	env := identitytest.New(t)
	_, srv := start(t, env.Cfg)
	call(t, srv, "POST", "/api/auth/register", registration("hal@example.com", "hals password", "Hal"))
	tok := login(t, srv, "hal@example.com", "hals password").AccessToken
	a := call(t, srv, "GET", "/api/auth/jwks.json", "")
	if a.status != 200 {
		t.Fatalf("jwks: %d", a.status)
	}
	var set jwtauth.JWKS
	a.decode(t, &set)
	if len(set.Keys) != 1 || set.Keys[0].Kty != "OKP" || set.Keys[0].Alg != "EdDSA" {
		t.Fatalf("jwks %s", a.body)
	}
	x, err := base64.RawURLEncoding.DecodeString(set.Keys[0].X)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse(tok, func(tk *jwt.Token) (any, error) {
		if tk.Header["kid"] != set.Keys[0].Kid {
			t.Errorf("kid %v, jwks kid %s", tk.Header["kid"], set.Keys[0].Kid)
		}
		return ed25519.PublicKey(x), nil
	}, jwt.WithValidMethods([]string{"EdDSA"}))
	if err != nil || !parsed.Valid {
		t.Fatalf("token does not verify with the published key: %v", err)
	}
}

func TestRegistrationEventSurvivesADownBroker(t *testing.T) {
	env := identitytest.New(t)
	f, srv := start(t, env.Cfg)
	env.Sink.FailWith(http.StatusServiceUnavailable)
	a := call(t, srv, "POST", "/api/auth/register", registration("ivy@example.com", "ivys password", "Ivy"))
	if a.status != 201 {
		t.Fatalf("register with the broker down: %d %s", a.status, a.body)
	}
	var ans tokenAnswer
	a.decode(t, &ans)
	env.Sink.FailWith(0)
	sent, err := f.creds.Outbox().Relay(context.Background(), 10)
	if err != nil || sent != 1 {
		t.Fatalf("relay sent %d, %v", sent, err)
	}
	evs := env.Sink.WaitFor(t, 1, 5*time.Second)
	if evs[0].Subject() != ans.User.ID {
		t.Fatalf("relayed %s", evs[0])
	}
	if sent, err := f.creds.Outbox().Relay(context.Background(), 10); err != nil || sent != 0 {
		t.Fatalf("second relay sent %d, %v", sent, err)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("pässwörd 123", DefaultArgon2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %s", h)
	}
	h2, err := hashPassword("pässwörd 123", DefaultArgon2)
	if err != nil || h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	cases := map[string]struct {
		password, hash string
		ok, bad        bool
	}{
		"right":           {"pässwörd 123", h, true, false},
		"wrong":           {"pässwörd 124", h, false, false},
		"empty":           {"", h, false, false},
		"not argon2id":    {"x", "$2a$10$abcdefghijklmnopqrstuv", false, true},
		"truncated":       {"x", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA", false, true},
		"zero iterations": {"x", "$argon2id$v=19$m=8,t=0,p=1$c2FsdHNhbHQ$a2V5", false, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ok, err := checkPassword(tc.password, tc.hash)
			if ok != tc.ok || (err != nil) != tc.bad {
				t.Fatalf("checkPassword = %v, %v", ok, err)
			}
		})
	}
}

func TestConfigFrom(t *testing.T) {
	env := identitytest.New(t)
	cases := map[string]struct {
		extra map[string]string
		ok    bool
	}{
		"defaults":               {nil, true},
		"admin without password": {map[string]string{"ADMIN_EMAIL": "a@example.com"}, false},
		"admin short password":   {map[string]string{"ADMIN_EMAIL": "a@example.com", "ADMIN_PASSWORD": "short"}, false},
		"no sink":                {map[string]string{"K_SINK": ""}, false},
		"no private key":         {map[string]string{"JWT_PRIVATE_KEY": ""}, false},
		"bad trust proxy":        {map[string]string{"TRUST_PROXY": "maybe"}, false},
		"bad argon2 memory":      {map[string]string{"AUTH_ARGON2_MEMORY_KIB": "0"}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ConfigFrom(env.With(tc.extra))
			if (err == nil) != tc.ok {
				t.Fatalf("ConfigFrom = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
