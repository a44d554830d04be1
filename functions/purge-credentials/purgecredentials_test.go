package purgecredentials

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/identity"
	"github.com/knshop/knshop/lib/identity/identitytest"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
)

func setup(t *testing.T) (*fn.Reaction[*credentials], *identity.Credentials) {
	t.Helper()
	env := identitytest.New(t)
	f := New()
	ctx := context.Background()
	storetest.StartFunction(t, f, env.Cfg)
	creds, err := identity.OpenCredentials(ctx, env.DB(t), sink.NewHTTP(env.Cfg["K_SINK"]), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"u-1", "u-2"} {
		if err := creds.Create(ctx, identity.Credential{UserID: u, Email: u + "@example.com", Name: u, PasswordHash: "x", Role: auth.Customer, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		for i, fam := range []string{"a", "b"} {
			if err := creds.SaveToken(ctx, identity.RefreshToken{Hash: u + fam, Family: u + fam, UserID: u, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour * time.Duration(i+1))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f, creds
}

func deleted(t *testing.T, userID string) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.UserDeletedData{UserID: userID, DeletedAt: time.Now().UTC()})
	return e
}

func TestPurgeRemovesCredentialAndTokens(t *testing.T) {
	f, creds := setup(t)
	h, err := fn.Handler(f)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := deleted(t, "u-1")
	for _, attempt := range []string{"first delivery", "redelivery"} {
		t.Run(attempt, func(t *testing.T) {
			if code, _ := storetest.Deliver(t, h, e); code != 204 {
				t.Fatalf("status %d", code)
			}
			if _, err := creds.ByID(ctx, "u-1"); !errors.Is(err, identity.ErrNotFound) {
				t.Fatalf("credential still there: %v", err)
			}
			if ts, err := creds.TokensOf(ctx, "u-1"); err != nil || len(ts) != 0 {
				t.Fatalf("tokens left: %d, %v", len(ts), err)
			}
			if _, err := creds.UseToken(ctx, "u-1a", time.Now()); !errors.Is(err, identity.ErrTokenInvalid) {
				t.Fatalf("a purged refresh token still works: %v", err)
			}
			if _, err := creds.ByID(ctx, "u-2"); err != nil {
				t.Fatalf("another user's credential went too: %v", err)
			}
			if ts, err := creds.TokensOf(ctx, "u-2"); err != nil || len(ts) != 2 {
				t.Fatalf("another user's tokens: %d, %v", len(ts), err)
			}
		})
	}
}

func TestConcurrentPurges(t *testing.T) {
	f, creds := setup(t)
	e := deleted(t, "u-2")
	if err := identitytest.HandleConcurrently(f, e, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := creds.ByID(context.Background(), "u-2"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("credential still there: %v", err)
	}
}

func TestInvalidEventIsPermanent(t *testing.T) {
	f, creds := setup(t)
	h, err := fn.Handler(f)
	if err != nil {
		t.Fatal(err)
	}
	wrongType := eventstest.Build(t, events.UserRegisteredData{UserID: "u-1", Email: "u-1@example.com", Name: "x", Role: "customer", RegisteredAt: time.Now()})
	noUser := deleted(t, "u-1")
	if err := noUser.SetData(event.ApplicationJSON, map[string]any{"deletedAt": time.Now()}); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]event.Event{"another type": wrongType, "no userId": noUser} {
		t.Run(name, func(t *testing.T) {
			if code, _ := storetest.Deliver(t, h, e); code != 400 {
				t.Fatalf("status %d, want 400", code)
			}
			if _, err := creds.ByID(context.Background(), "u-1"); err != nil {
				t.Fatalf("an invalid event removed a credential: %v", err)
			}
		})
	}
}
