package synccustomer_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	synccustomer "github.com/knshop/knshop/functions/sync-customer"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/events/eventstest"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/storetest"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func profile(user, name string, at time.Time) events.UserUpdatedData {
	return events.UserUpdatedData{UserID: user, Email: name + "@x.io", Name: name, UpdatedAt: at,
		Addresses:   []events.Address{{ID: "home", Line1: name + " St", City: "C", PostalCode: "1", Country: "US"}},
		Preferences: map[string]any{}}
}

func TestSyncCustomer(t *testing.T) {
	orderstoretest.OnEach(t, synccustomer.New, func(t *testing.T, s orderstoretest.Started) {
		ctx, db, f, h := context.Background(), s.DB, s.F, s.H
		user := ids.New()
		mug := db.Product(t, "Mug", money.New(100, "USD"), 5)
		open := db.Order(t, user, mug)
		done := db.Order(t, user, mug, orderstore.Cancelled)
		steps := []struct {
			name     string
			data     events.UserUpdatedData
			wantName string
		}{
			{"first profile", profile(user, "ann", t0), "ann"},
			{"newer profile", profile(user, "anna", t0.Add(2*time.Hour)), "anna"},
			{"older profile arriving late", profile(user, "an", t0.Add(time.Hour)), "anna"},
			{"duplicate", profile(user, "anna", t0.Add(2*time.Hour)), "anna"},
		}
		for _, st := range steps {
			if reply, err := f.Handle(ctx, eventstest.Build(t, st.data)); err != nil || reply != nil {
				t.Fatalf("%s: %v %v", st.name, reply, err)
			}
			c, err := db.Store.Customer(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			if a, ok := c.Address("home"); c.Name != st.wantName || !ok || a.Line1 != st.wantName+" St" {
				t.Fatalf("%s: customer %+v", st.name, c)
			}
		}
		if o := db.Get(t, open.ID); o.CustomerName != "anna" || o.CustomerEmail != "anna@x.io" {
			t.Fatalf("open order snapshot = %q %q", o.CustomerName, o.CustomerEmail)
		}
		if o := db.Get(t, done.ID); o.CustomerName != "" {
			t.Fatalf("finished order snapshot changed to %q", o.CustomerName)
		}

		cases := map[string]struct {
			data events.Data
			want int
		}{
			"profile is 204":      {profile(ids.New(), "bo", t0), http.StatusNoContent},
			"another type is 400": {events.UserDeletedData{UserID: user, DeletedAt: t0}, http.StatusBadRequest},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				if got, _ := storetest.Deliver(t, h, eventstest.Build(t, tc.data)); got != tc.want {
					t.Fatalf("status %d, want %d", got, tc.want)
				}
			})
		}
	})
}
