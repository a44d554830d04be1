package users

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/golang-jwt/jwt/v5"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/identity"
	"github.com/knshop/knshop/lib/identity/identitytest"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	env      *identitytest.Env
	srv      string
	f        *Users
	profiles *identity.Profiles
	creds    *identity.Credentials
}

func setup(t *testing.T) *fixture {
	t.Helper()
	env := identitytest.New(t)
	f := New()
	srv := storetest.ServeFunction(t, Name, f, env.Cfg)
	db := env.DB(t)
	// Credentials are auth's; they are made here with their own sink so
	// their USER_REGISTERED events stay out of the users sink.
	creds, err := identity.OpenCredentials(context.Background(), db, sink.NewHTTP(storetest.NewEventRecorder(t).URL()), quiet)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{env: env, srv: srv, f: f, profiles: identity.OpenProfiles(db, nil, nil), creds: creds}
}

// seed creates a credential as auth would and the profile as
// create-profile would.
func (fx *fixture) seed(t *testing.T, userID string, role auth.Role) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := fx.creds.Create(context.Background(), identity.Credential{UserID: userID, Email: userID + "@example.com", Name: "User " + userID, PasswordHash: "x", Role: role, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.profiles.Create(context.Background(), identity.Profile{UserID: userID, Email: userID + "@example.com", Name: "User " + userID, Role: role, CreatedAt: now, UpdatedAt: now, Version: 1}); err != nil {
		t.Fatal(err)
	}
}

func (fx *fixture) version(t *testing.T, userID string) int64 {
	t.Helper()
	p, err := fx.profiles.Get(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return p.Version
}

type answer struct {
	status int
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

func (fx *fixture) call(t *testing.T, bearer, method, path, body string) answer {
	t.Helper()
	a := storetest.Call(t, method, fx.srv+path, bearer, body, "Content-Type", "application/json")
	return answer{a.Status, a.Body}
}

// quietFor fails when an event arrives at the sink beyond the first n.
func quietFor(t *testing.T, env *identitytest.Env, n int) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	if got := len(env.Sink.Events()); got != n {
		t.Fatalf("%d events at the sink, want %d", got, n)
	}
}

func TestMeBeforeTheProfileExists(t *testing.T) {
	fx := setup(t)
	a := fx.call(t, fx.env.Keys.Bearer(t, "new-user", auth.Customer), "GET", "/api/users/me", "")
	var p struct {
		Status int
		Detail string
	}
	a.decode(t, &p)
	if a.status != 404 || !strings.Contains(p.Detail, "moments after registration") {
		t.Fatalf("GET /me without a profile: %d %s", a.status, a.body)
	}
}

func TestPatchMe(t *testing.T) {
	fx := setup(t)
	fx.seed(t, "u1", auth.Customer)
	me := fx.env.Keys.Bearer(t, "u1", auth.Customer)
	cases := []struct {
		name, body string
		want       int
		check      func(t *testing.T, v profileView)
	}{
		{"name", `{"name":"  Una  "}`, 200, func(t *testing.T, v profileView) {
			if v.Name != "Una" || v.Email != "u1@example.com" {
				t.Fatalf("profile %+v", v)
			}
		}},
		{"preferences", `{"preferences":{"newsletter":true,"lang":"de","$where":"kept as data"}}`, 200, func(t *testing.T, v profileView) {
			var m map[string]any
			if err := json.Unmarshal(v.Preferences, &m); err != nil || m["lang"] != "de" || m["$where"] != "kept as data" || v.Name != "Una" {
				t.Fatalf("profile %+v", v)
			}
		}},
		{"nothing", `{}`, 400, nil},
		{"blank name", `{"name":" "}`, 400, nil},
		{"operator as name", `{"name":{"$set":"x"}}`, 400, nil},
		{"preferences not an object", `{"preferences":[1,2]}`, 400, nil},
		{"preferences null", `{"preferences":null}`, 400, nil},
		{"unknown field", `{"role":"admin"}`, 400, nil},
		{"malformed", `{"name":"x"`, 400, nil},
		{"oversized", `{"name":"` + strings.Repeat("a", 1<<20) + `"}`, 400, nil},
		{"preferences over 16 KiB", `{"preferences":{"x":"` + strings.Repeat("a", 17<<10) + `"}}`, 400, nil},
	}
	sent := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := fx.version(t, "u1")
			a := fx.call(t, me, "PATCH", "/api/users/me", tc.body)
			if a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
			if tc.want != 200 {
				if v := fx.version(t, "u1"); v != before {
					t.Fatalf("a refused patch changed the profile (version %d → %d)", before, v)
				}
				quietFor(t, fx.env, sent)
				return
			}
			var v profileView
			a.decode(t, &v)
			tc.check(t, v)
			sent++
			evs := fx.env.Sink.WaitFor(t, sent, 5*time.Second)
			assertUpdated(t, evs[sent-1], v, before+1)
		})
	}
}

func assertUpdated(t *testing.T, e event.Event, v profileView, version int64) {
	t.Helper()
	var d events.UserUpdatedData
	if err := events.Decode(e, &d); err != nil {
		t.Fatal(err)
	}
	if d.UserID != v.ID || d.Name != v.Name || d.Email != v.Email || d.Role != string(v.Role) || len(d.Addresses) != len(v.Addresses) || d.Version != version || !d.UpdatedAt.Equal(v.UpdatedAt) {
		t.Fatalf("USER_UPDATED %+v for profile %+v (version %d)", d, v, version)
	}
}

func addr(line1 string, isDefault bool) string {
	b, _ := json.Marshal(map[string]any{"label": "home", "line1": line1, "city": "Berlin", "postalCode": "10115", "country": "de", "isDefault": isDefault})
	return string(b)
}

func (fx *fixture) addresses(t *testing.T, bearer string) []addressView {
	t.Helper()
	a := fx.call(t, bearer, "GET", "/api/users/me", "")
	var v profileView
	a.decode(t, &v)
	return v.Addresses
}

func TestAddresses(t *testing.T) {
	fx := setup(t)
	fx.seed(t, "u1", auth.Customer)
	fx.seed(t, "u2", auth.Customer)
	u1, u2 := fx.env.Keys.Bearer(t, "u1", auth.Customer), fx.env.Keys.Bearer(t, "u2", auth.Customer)

	var first, second identity.Address
	fx.call(t, u1, "POST", "/api/users/me/addresses", addr("1 First St", true)).decode(t, &first)
	a := fx.call(t, u1, "POST", "/api/users/me/addresses", addr("2 Second St", true))
	if a.status != 201 {
		t.Fatalf("add: %d %s", a.status, a.body)
	}
	a.decode(t, &second)
	if second.ID == "" || second.Country != "DE" || !second.IsDefault {
		t.Fatalf("address %+v", second)
	}
	defaults := func(t *testing.T, bearer string) (ids []string) {
		for _, x := range fx.addresses(t, bearer) {
			if x.IsDefault {
				ids = append(ids, x.ID)
			}
		}
		return ids
	}
	if d := defaults(t, u1); len(d) != 1 || d[0] != second.ID {
		t.Fatalf("defaults after a second default: %v", d)
	}
	steps := []struct {
		name                 string
		bearer, method, path string
		body                 string
		want                 int
	}{
		{"make the first default again", u1, "PUT", "/api/users/me/addresses/" + first.ID, addr("1 First Street", true), 200},
		{"another user's address is not found", u2, "PUT", "/api/users/me/addresses/" + first.ID, addr("hijack", true), 404},
		{"another user cannot delete it", u2, "DELETE", "/api/users/me/addresses/" + first.ID, "", 404},
		{"unknown address", u1, "PUT", "/api/users/me/addresses/nope", addr("x", false), 404},
		{"missing line1", u1, "POST", "/api/users/me/addresses", `{"city":"Berlin","postalCode":"1","country":"DE"}`, 400},
		{"operator as city", u1, "POST", "/api/users/me/addresses", `{"line1":"x","city":{"$ne":1},"postalCode":"1","country":"DE"}`, 400},
		{"delete the second", u1, "DELETE", "/api/users/me/addresses/" + second.ID, "", 204},
		{"delete it again", u1, "DELETE", "/api/users/me/addresses/" + second.ID, "", 404},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := fx.version(t, "u1")
			if a := fx.call(t, s.bearer, s.method, s.path, s.body); a.status != s.want {
				t.Fatalf("status %d, want %d: %s", a.status, s.want, a.body)
			}
			if changed := fx.version(t, "u1") != before; changed != (s.want < 300 && s.bearer == u1) {
				t.Fatalf("profile changed: %v", changed)
			}
		})
	}
	got := fx.addresses(t, u1)
	if len(got) != 1 || got[0].ID != first.ID || got[0].Line1 != "1 First Street" || !got[0].IsDefault {
		t.Fatalf("addresses %+v", got)
	}
	if got := fx.addresses(t, u2); len(got) != 0 {
		t.Fatalf("u2 has addresses %+v", got)
	}
}

func TestConcurrentAddressAdds(t *testing.T) {
	fx := setup(t)
	fx.seed(t, "u1", auth.Customer)
	me := fx.env.Keys.Bearer(t, "u1", auth.Customer)
	const n = 8
	statuses := storetest.AtOnce(n, func(i int) int {
		return fx.call(t, me, "POST", "/api/users/me/addresses", addr(strconv.Itoa(i)+" Main St", true)).status
	})
	added := storetest.Tally(t, statuses, 201, 409) // ErrBusy after repeated races is allowed, never a lost write
	got := fx.addresses(t, me)
	defaults := 0
	for _, a := range got {
		if a.IsDefault {
			defaults++
		}
	}
	if len(got) != added || defaults != 1 || fx.version(t, "u1") != int64(1+added) {
		t.Fatalf("%d addresses (%d answered 201), %d defaults, version %d", len(got), added, defaults, fx.version(t, "u1"))
	}
	if added < n/2 {
		t.Fatalf("only %d of %d concurrent adds succeeded", added, n)
	}
}

func TestTooManyAddresses(t *testing.T) {
	fx := setup(t)
	fx.seed(t, "u1", auth.Customer)
	me := fx.env.Keys.Bearer(t, "u1", auth.Customer)
	for i := range MaxAddresses {
		if a := fx.call(t, me, "POST", "/api/users/me/addresses", addr(strconv.Itoa(i), false)); a.status != 201 {
			t.Fatalf("address %d: %d", i, a.status)
		}
	}
	if a := fx.call(t, me, "POST", "/api/users/me/addresses", addr("one too many", false)); a.status != 409 {
		t.Fatalf("address %d: %d %s", MaxAddresses+1, a.status, a.body)
	}
}

// forge signs claims with method and key, with the verifier's kid.
func forge(t *testing.T, keys *identitytest.Env, method jwt.SigningMethod, key any, mut func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"sub": "u1", "role": "admin", "iss": auth.DefaultIssuer, "aud": []string{auth.DefaultAudience},
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": "j"}
	if mut != nil {
		mut(c)
	}
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = keys.Keys.Config.KeyID
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

func TestAccessControl(t *testing.T) {
	fx := setup(t)
	fx.seed(t, "u1", auth.Customer)
	fx.seed(t, "boss", auth.Admin)
	k := fx.env.Keys
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	customer, admin := k.Bearer(t, "u1", auth.Customer), k.Bearer(t, "boss", auth.Admin)
	cases := map[string]struct {
		bearer, method, path, body string
		want                       int
	}{
		"no token":                     {"", "GET", "/api/users/me", "", 401},
		"alg none":                     {forge(t, fx.env, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil), "GET", "/api/users/me", "", 401},
		"HS256 keyed with the pub key": {forge(t, fx.env, jwt.SigningMethodHS256, []byte(k.Config.PublicKey), nil), "GET", "/api/users/me", "", 401},
		"another Ed25519 key":          {forge(t, fx.env, jwt.SigningMethodEdDSA, otherKey, nil), "GET", "/api/users/me", "", 401},
		"expired":                      {forge(t, fx.env, jwt.SigningMethodEdDSA, k.Config.PrivateKey, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), "GET", "/api/users/me", "", 401},
		"wrong audience":               {forge(t, fx.env, jwt.SigningMethodEdDSA, k.Config.PrivateKey, func(c jwt.MapClaims) { c["aud"] = []string{"elsewhere"} }), "GET", "/api/users/me", "", 401},
		"forged admin on role change":  {forge(t, fx.env, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil), "PATCH", "/api/users/u1/role", `{"role":"admin"}`, 401},
		"customer looks a user up":     {customer, "GET", "/api/users/boss", "", 403},
		"customer changes a role":      {customer, "PATCH", "/api/users/u1/role", `{"role":"admin"}`, 403},
		"admin looks a user up":        {admin, "GET", "/api/users/u1", "", 200},
		"admin, unknown user":          {admin, "GET", "/api/users/ghost", "", 404},
		"admin, invalid role":          {admin, "PATCH", "/api/users/u1/role", `{"role":"root"}`, 400},
		"admin, role as operator":      {admin, "PATCH", "/api/users/u1/role", `{"role":{"$ne":""}}`, 400},
		"admin, unknown user's role":   {admin, "PATCH", "/api/users/ghost/role", `{"role":"seller"}`, 404},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := fx.version(t, "u1")
			a := fx.call(t, tc.bearer, tc.method, tc.path, tc.body)
			if a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
			if fx.version(t, "u1") != before {
				t.Fatal("the profile changed")
			}
		})
	}
	quietFor(t, fx.env, 0)
	t.Run("admin changes a role", func(t *testing.T) {
		a := fx.call(t, admin, "PATCH", "/api/users/u1/role", `{"role":"courier"}`)
		var v profileView
		a.decode(t, &v)
		if a.status != 200 || v.Role != auth.Courier || v.ID != "u1" {
			t.Fatalf("role change: %d %s", a.status, a.body)
		}
		evs := fx.env.Sink.WaitFor(t, 1, 5*time.Second)
		assertUpdated(t, evs[0], v, 2)
		if c, err := fx.creds.ByID(context.Background(), "u1"); err != nil || c.Role != auth.Courier {
			t.Fatalf("credential role %q, %v: new tokens would keep the old role", c.Role, err)
		}
	})
}

func TestDeleteMe(t *testing.T) {
	fx := setup(t)
	fx.seed(t, "u1", auth.Customer)
	fx.seed(t, "u2", auth.Customer)
	me := fx.env.Keys.Bearer(t, "u1", auth.Customer)
	fx.call(t, me, "POST", "/api/users/me/addresses", addr("1 Gone St", true))
	if a := fx.call(t, me, "DELETE", "/api/users/me", ""); a.status != 204 {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	evs := fx.env.Sink.WaitFor(t, 2, 5*time.Second)
	var d events.UserDeletedData
	if err := events.Decode(evs[1], &d); err != nil || d.UserID != "u1" {
		t.Fatalf("USER_DELETED %+v, %v", d, err)
	}
	steps := map[string]struct{ method, path, body string }{
		"read":           {"GET", "/api/users/me", ""},
		"delete again":   {"DELETE", "/api/users/me", ""},
		"patch":          {"PATCH", "/api/users/me", `{"name":"back"}`},
		"add an address": {"POST", "/api/users/me/addresses", addr("x", false)},
	}
	for name, s := range steps {
		t.Run(name, func(t *testing.T) {
			if a := fx.call(t, me, s.method, s.path, s.body); a.status != 404 {
				t.Fatalf("status %d, want 404: %s", a.status, a.body)
			}
		})
	}
	quietFor(t, fx.env, 2)
	if _, err := fx.profiles.Get(context.Background(), "u2"); err != nil {
		t.Fatalf("another profile: %v", err)
	}
}

func TestUpdateEventSurvivesADownBroker(t *testing.T) {
	fx := setup(t)
	fx.seed(t, "u1", auth.Customer)
	fx.env.Sink.FailWith(http.StatusBadGateway)
	if a := fx.call(t, fx.env.Keys.Bearer(t, "u1", auth.Customer), "PATCH", "/api/users/me", `{"name":"Kept"}`); a.status != 200 {
		t.Fatalf("patch: %d", a.status)
	}
	fx.env.Sink.FailWith(0)
	sent, err := fx.f.profiles.Outbox().Relay(context.Background(), 10)
	if err != nil || sent != 1 {
		t.Fatalf("relay: %d, %v", sent, err)
	}
	var d events.UserUpdatedData
	if err := events.Decode(fx.env.Sink.WaitFor(t, 1, 5*time.Second)[0], &d); err != nil || d.Name != "Kept" {
		t.Fatalf("relayed %+v, %v", d, err)
	}
}
