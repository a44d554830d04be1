package users_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	authfn "github.com/knshop/knshop/functions/auth"
	createprofile "github.com/knshop/knshop/functions/create-profile"
	purgecredentials "github.com/knshop/knshop/functions/purge-credentials"
	"github.com/knshop/knshop/functions/users"
	libauth "github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/identity/identitytest"
	"github.com/knshop/knshop/lib/storetest"
)

func request(t *testing.T, h http.Handler, method, path, bearer, body string) (int, []byte) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// TestAccountLifecycle follows one account through the events: register →
// USER_REGISTERED → create-profile → profile; delete → USER_DELETED →
// purge-credentials → login and refresh fail. Every event is delivered
// twice, and the second delivery changes nothing.
func TestAccountLifecycle(t *testing.T) {
	env := identitytest.New(t)
	auth := storetest.StartFunction(t, authfn.New(), env.Cfg)
	usersFn := storetest.StartFunction(t, users.New(), env.Cfg)
	create := storetest.StartFunction(t, createprofile.New(), env.Cfg)
	purge := storetest.StartFunction(t, purgecredentials.New(), env.Cfg)

	code, body := request(t, auth, "POST", "/api/auth/register", "", `{"email":"Lia@Example.com","password":"lias password","name":"Lia"}`)
	if code != 201 {
		t.Fatalf("register: %d %s", code, body)
	}
	var session struct {
		User         struct{ ID string }
		AccessToken  string
		RefreshToken string
	}
	if err := json.Unmarshal(body, &session); err != nil {
		t.Fatal(err)
	}
	if code, _ := request(t, usersFn, "GET", "/api/users/me", session.AccessToken, ""); code != 404 {
		t.Fatalf("profile before create-profile ran: %d", code)
	}
	deliverTwice := func(t *testing.T, h http.Handler, e event.Event, after func(t *testing.T)) {
		for _, n := range []string{"first", "second"} {
			if code, _ := storetest.Deliver(t, h, e); code != 204 {
				t.Fatalf("%s delivery of %s: %d", n, e.Type(), code)
			}
			after(t)
		}
	}

	registered := env.Sink.WaitFor(t, 1, 5*time.Second)[0]
	if registered.Type() != string(events.UserRegistered) {
		t.Fatalf("first event %s", registered.Type())
	}
	var profile []byte
	deliverTwice(t, create, registered, func(t *testing.T) {
		code, body := request(t, usersFn, "GET", "/api/users/me", session.AccessToken, "")
		if code != 200 || !strings.Contains(string(body), `"email":"lia@example.com"`) {
			t.Fatalf("profile: %d %s", code, body)
		}
		if profile != nil && string(profile) != string(body) {
			t.Fatalf("the second USER_REGISTERED changed the profile:\n%s\n%s", profile, body)
		}
		profile = body
	})

	// An admin makes Lia a seller: her next refresh carries the new role.
	admin := env.Keys.Token(t, "some-admin", libauth.Admin)
	if code, body := request(t, usersFn, "PATCH", "/api/users/"+session.User.ID+"/role", admin, `{"role":"seller"}`); code != 200 {
		t.Fatalf("role change: %d %s", code, body)
	}
	code, body = request(t, auth, "POST", "/api/auth/refresh", "", `{"refreshToken":"`+session.RefreshToken+`"}`)
	if code != 200 {
		t.Fatalf("refresh: %d %s", code, body)
	}
	if err := json.Unmarshal(body, &session); err != nil {
		t.Fatal(err)
	}
	if c, err := libauth.NewVerifier(env.Keys.Config).Verify(session.AccessToken); err != nil || c.Role != libauth.Seller {
		t.Fatalf("token after the role change: %+v, %v", c, err)
	}
	env.Sink.WaitFor(t, 2, 5*time.Second) // USER_UPDATED

	if code, body := request(t, usersFn, "DELETE", "/api/users/me", session.AccessToken, ""); code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	deletedEv := env.Sink.WaitFor(t, 3, 5*time.Second)[2]
	if deletedEv.Type() != string(events.UserDeleted) {
		t.Fatalf("second event %s", deletedEv.Type())
	}
	deliverTwice(t, purge, deletedEv, func(t *testing.T) {
		if code, body := request(t, auth, "POST", "/api/auth/login", "", `{"email":"lia@example.com","password":"lias password"}`); code != 401 {
			t.Fatalf("login after deletion: %d %s", code, body)
		}
		if code, _ := request(t, auth, "POST", "/api/auth/refresh", "", `{"refreshToken":"`+session.RefreshToken+`"}`); code != 401 {
			t.Fatalf("refresh after deletion: %d", code)
		}
	})
}
