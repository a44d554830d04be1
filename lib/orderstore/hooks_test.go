package orderstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

func TestHooks(t *testing.T) {
	ctx := context.Background()
	t.Run("before Start: not ready, nothing to stop", func(t *testing.T) {
		var h orderstore.Hooks
		if ok, err := h.Ready(ctx); ok || err != nil {
			t.Fatalf("ready %t, %v", ok, err)
		}
		if err := h.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no MYSQL_DSN: Start fails", func(t *testing.T) {
		var h orderstore.Hooks
		if err := h.Start(ctx, map[string]string{}); !errors.Is(err, sqlstore.ErrConfig) {
			t.Fatalf("start: %v", err)
		}
		if h.Store != nil {
			t.Fatal("a store although Start failed")
		}
	})
	for _, eng := range storetest.MySQLEngines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			db := orderstoretest.New(t, eng)
			var h orderstore.Hooks
			if err := h.Start(ctx, db.Env); err != nil {
				t.Fatal(err)
			}
			if ok, err := h.Ready(ctx); !ok || err != nil {
				t.Fatalf("ready %t, %v", ok, err)
			}
			// The store Start opened is the test's database.
			mug := db.Product(t, "Mug", usd(100), 5)
			if p, err := h.Store.Product(ctx, mug); err != nil || p.Name != "Mug" {
				t.Fatalf("product %+v, %v", p, err)
			}
			if err := h.Stop(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAdvanceOn(t *testing.T) {
	for _, eng := range storetest.MySQLEngines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			ctx := context.Background()
			db := orderstoretest.New(t, eng)
			mug := db.Product(t, "Mug", usd(100), 5)
			cust := ids.New()
			e := orderstoretest.Event(t, "test", events.UserDeletedData{UserID: cust, DeletedAt: t0})
			to := func(orderID string, s orderstore.Status) orderstore.Read {
				return func(event.Event) (string, orderstore.Change, error) {
					return orderID, orderstore.Change{To: s, At: time.Now()}, nil
				}
			}
			unreadable := func(event.Event) (string, orderstore.Change, error) {
				return "", orderstore.Change{}, fmt.Errorf("%w: not this one", events.ErrInvalid)
			}
			cases := map[string]struct {
				path        []orderstore.Status
				read        func(orderID string) orderstore.Read
				wantErr     error
				wantOutcome orderstore.Outcome
				wantStatus  orderstore.Status
			}{
				"applied":          {nil, func(id string) orderstore.Read { return to(id, orderstore.Reserved) }, nil, orderstore.Applied, orderstore.Reserved},
				"already there":    {[]orderstore.Status{orderstore.Reserved}, func(id string) orderstore.Read { return to(id, orderstore.Reserved) }, nil, orderstore.AlreadyThere, orderstore.Reserved},
				"refused":          {[]orderstore.Status{orderstore.Cancelled}, func(id string) orderstore.Read { return to(id, orderstore.Paid) }, nil, orderstore.Refused, orderstore.Cancelled},
				"unknown order":    {nil, func(string) orderstore.Read { return to(ids.New(), orderstore.Paid) }, orderstore.ErrNotFound, 0, orderstore.Pending},
				"unreadable event": {nil, func(string) orderstore.Read { return unreadable }, events.ErrInvalid, 0, orderstore.Pending},
			}
			for name, tc := range cases {
				t.Run(name, func(t *testing.T) {
					o := db.Order(t, cust, mug, tc.path...)
					a, err := db.Store.AdvanceOn(ctx, e, tc.read(o.ID))
					if tc.wantErr != nil {
						if !errors.Is(err, tc.wantErr) || !fn.IsPermanent(err) {
							t.Fatalf("err %v, want permanent %v", err, tc.wantErr)
						}
					} else if err != nil || a.Outcome != tc.wantOutcome || a.Order.ID != o.ID {
						t.Fatalf("outcome %s of %s, %v", a.Outcome, a.Order.ID, err)
					}
					if got := db.Get(t, o.ID); got.Status != tc.wantStatus {
						t.Fatalf("order is %s, want %s", got.Status, tc.wantStatus)
					}
				})
			}
		})
	}
}
