package createprofile

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/identity"
	"github.com/knshop/knshop/lib/identity/identitytest"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
)

func setup(t *testing.T) (*fn.Reaction[*identity.DB], *identity.Profiles, *identitytest.Env) {
	t.Helper()
	env := identitytest.New(t)
	f := New()
	storetest.StartFunction(t, f, env.Cfg)
	return f, identity.OpenProfiles(env.DB(t), sink.NewHTTP(env.Cfg["K_SINK"]), nil), env
}

func registered(t *testing.T, userID, email string) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.UserRegisteredData{
		UserID: userID, Email: email, Name: "Nia", Role: "customer", RegisteredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	})
	return e
}

func TestCreatesTheProfileOnce(t *testing.T) {
	f, profiles, _ := setup(t)
	h, err := fn.Handler(f)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := registered(t, "u-1", "Nia@Example.com")
	if code, _ := storetest.Deliver(t, h, e); code != 204 {
		t.Fatalf("first delivery: %d", code)
	}
	p, err := profiles.Get(ctx, "u-1")
	if err != nil || p.Email != "nia@example.com" || p.Name != "Nia" || p.Role != "customer" || p.Version != 1 || len(p.Addresses) != 0 || p.Preferences != "{}" {
		t.Fatalf("profile %+v, %v", p, err)
	}
	// The user edits the profile; a late redelivery must not undo it.
	if _, err := profiles.Update(ctx, "u-1", func(p *identity.Profile) ([]event.Event, error) { p.Name = "Nia B."; return nil, nil }); err != nil {
		t.Fatal(err)
	}
	cases := map[string]event.Event{
		"same event again":               e,
		"same data under a new event id": registered(t, "u-1", "other@example.com"),
	}
	for name, ev := range cases {
		t.Run(name, func(t *testing.T) {
			if code, _ := storetest.Deliver(t, h, ev); code != 204 {
				t.Fatalf("redelivery: %d", code)
			}
			p, err := profiles.Get(ctx, "u-1")
			if err != nil || p.Name != "Nia B." || p.Email != "nia@example.com" || p.Version != 2 {
				t.Fatalf("redelivery changed the profile: %+v, %v", p, err)
			}
		})
	}
}

func TestConcurrentDeliveriesMakeOneProfile(t *testing.T) {
	f, profiles, _ := setup(t)
	e := registered(t, "u-2", "omar@example.com")
	if err := identitytest.HandleConcurrently(f, e, 6); err != nil {
		t.Fatal(err)
	}
	if p, err := profiles.Get(context.Background(), "u-2"); err != nil || p.Version != 1 {
		t.Fatalf("profile %+v, %v", p, err)
	}
}

func TestDeletedProfileStaysDeleted(t *testing.T) {
	f, profiles, _ := setup(t)
	ctx := context.Background()
	e := registered(t, "u-3", "pat@example.com")
	if _, err := f.Handle(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := profiles.Update(ctx, "u-3", func(p *identity.Profile) ([]event.Event, error) {
		now := time.Now().UTC()
		p.DeletedAt = &now
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Handle(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := profiles.Get(ctx, "u-3"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("a redelivered USER_REGISTERED revived a deleted profile: %v", err)
	}
}

func TestInvalidEventsAreNotRetried(t *testing.T) {
	f, _, _ := setup(t)
	h, err := fn.Handler(f)
	if err != nil {
		t.Fatal(err)
	}
	wrongType := eventstest.Build(t, events.UserDeletedData{UserID: "u-4", DeletedAt: time.Now()})
	badData := registered(t, "u-4", "q@example.com")
	if err := badData.SetData(event.ApplicationJSON, map[string]any{"userId": "u-4", "role": "root"}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]event.Event{"another type": wrongType, "data off schema": badData}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			if code, _ := storetest.Deliver(t, h, e); code != 400 {
				t.Fatalf("status %d, want 400", code)
			}
		})
	}
}
