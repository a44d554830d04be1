package orderstore_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

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
	// A port nothing listens on: a Start that tried to open would fail
	// otherwise than the case wants.
	closed := "root@tcp(127.0.0.1:1)/"
	failing := map[string]struct {
		cfg  map[string]string
		hook fn.Starter
		want error
	}{
		"Hooks without MYSQL_DSN":       {map[string]string{}, &orderstore.Hooks{}, sqlstore.ErrConfig},
		"OutboxHooks without MYSQL_DSN": {map[string]string{"K_SINK": "http://127.0.0.1:1"}, &orderstore.OutboxHooks{}, sqlstore.ErrConfig},
		"OutboxHooks without K_SINK":    {map[string]string{"MYSQL_DSN": closed}, &orderstore.OutboxHooks{}, orderstore.ErrNoSink},
	}
	for name, tc := range failing {
		t.Run(name, func(t *testing.T) {
			if err := tc.hook.Start(ctx, tc.cfg); !errors.Is(err, tc.want) {
				t.Fatalf("start: %v, want %v", err, tc.want)
			}
		})
	}
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
		t.Run(eng.Name+"/outbox", func(t *testing.T) {
			db := orderstoretest.New(t, eng)
			rec := storetest.NewEventRecorder(t)
			cfg := maps.Clone(db.Env)
			cfg["K_SINK"] = rec.URL()
			var h orderstore.OutboxHooks
			if err := h.Start(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := h.Stop(ctx); err != nil {
					t.Error(err)
				}
			})
			// A cancellation announced through the outbox reaches K_SINK.
			o := db.Order(t, ids.New(), db.Product(t, "Mug", usd(100), 5))
			a, err := h.Store.Advance(ctx, o.ID, orderstore.Change{To: orderstore.Cancelled, Reason: events.ReasonCustomerRequest, At: time.Now()},
				orderstore.AnnounceCancelled(ctx, "test"))
			if err != nil || len(a.Events) != 1 {
				t.Fatalf("advance: %d events, %v", len(a.Events), err)
			}
			if got := rec.WaitFor(t, 1, 5*time.Second); got[0].ID() != ids.Derive(o.ID, "ORDER_CANCELLED") || got[0].Type() != string(events.OrderCancelled) {
				t.Fatalf("published %s %s", got[0].ID(), got[0].Type())
			}
		})
	}
}
