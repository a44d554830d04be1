package canceluserorders_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	canceluserorders "github.com/knshop/knshop/functions/cancel-user-orders"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/events/eventstest"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
)

func TestCancelUserOrders(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		ctx := context.Background()
		db := orderstoretest.New(t, eng)
		rec := storetest.NewEventRecorder(t)
		h := db.Start(t, canceluserorders.New(), map[string]string{"K_SINK": rec.URL()})
		mug := db.Product(t, "Mug", money.New(100, "USD"), 5)
		user, other := ids.New(), ids.New()
		want := map[string]orderstore.Status{}
		for _, path := range [][]orderstore.Status{nil, {orderstore.Reserved}, {orderstore.Paid}} {
			want[db.Order(t, user, mug, path...).ID] = orderstore.Cancelled
		}
		want[db.Order(t, user, mug, orderstore.Paid, orderstore.Shipping).ID] = orderstore.Shipping
		want[db.Order(t, user, mug, orderstore.Paid, orderstore.Completed).ID] = orderstore.Completed
		want[db.Order(t, other, mug).ID] = orderstore.Pending

		e := eventstest.Build(t, events.UserDeletedData{UserID: user, DeletedAt: time.Now().UTC()})
		for range 2 { // the second delivery finds nothing left
			if code, _ := storetest.Deliver(t, h, e); code != http.StatusNoContent {
				t.Fatalf("status %d", code)
			}
		}
		for id, st := range want {
			if got := db.Get(t, id); got.Status != st {
				t.Fatalf("order %s is %s, want %s", id, got.Status, st)
			}
		}
		evs := rec.WaitFor(t, 3, 5*time.Second)
		time.Sleep(50 * time.Millisecond)
		if n := len(rec.Events()); n != 3 {
			t.Fatalf("%d events published, want 3", n)
		}
		for _, ev := range evs {
			var c events.OrderCancelledData
			if err := events.Decode(ev, &c); err != nil {
				t.Fatal(err)
			}
			if c.Reason != events.ReasonUserDeleted || c.CustomerID != user || want[c.OrderID] != orderstore.Cancelled ||
				ev.ID() != ids.Derive(c.OrderID, "ORDER_CANCELLED") {
				t.Fatalf("event %s %+v", ev.ID(), c)
			}
		}

		t.Run("broker down: the relay sends them later", func(t *testing.T) {
			u := ids.New()
			o := db.Order(t, u, mug, orderstore.Reserved)
			rec.FailWith(http.StatusServiceUnavailable)
			code, _ := storetest.Deliver(t, h, eventstest.Build(t, events.UserDeletedData{UserID: u, DeletedAt: time.Now().UTC()}))
			rec.FailWith(0)
			if code != http.StatusNoContent || db.Get(t, o.ID).Status != orderstore.Cancelled {
				t.Fatalf("status %d", code)
			}
			before := len(rec.Events())
			relay := outbox.NewSQL(db.Store.DB(), sink.NewHTTP(rec.URL()), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if n, err := relay.Relay(ctx, 10); err != nil || n != 1 {
				t.Fatalf("relay sent %d, %v", n, err)
			}
			if got := rec.Events(); len(got) != before+1 || got[len(got)-1].ID() != ids.Derive(o.ID, "ORDER_CANCELLED") {
				t.Fatalf("relayed %d events", len(got)-before)
			}
		})
	})
}
