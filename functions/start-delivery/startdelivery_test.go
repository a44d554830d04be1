package startdelivery

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/broker/brokertest"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/deliverystore/deliverystoretest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

func started(t *testing.T, sc sqlstore.Config, couriers string) *fn.Reaction[*starter] {
	t.Helper()
	f := New()
	if err := f.Start(context.Background(), map[string]string{}); err == nil {
		t.Fatal("Start without MYSQL_DSN succeeded")
	}
	cfg := sc.Env(deliverystore.Database)
	cfg["COURIER_IDS"] = couriers
	storetest.StartFunction(t, f, cfg)
	return f
}

func count(t *testing.T, db *sql.DB, orderID string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM deliveries WHERE order_id = ?", orderID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStartDelivery(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		f := started(t, engine.Config(t, "deliveries"), "courier-a,courier-b")
		ctx := context.Background()

		t.Run("first delivery creates the delivery and answers DELIVERY_STARTED", func(t *testing.T) {
			order := ids.New()
			reply, err := f.Handle(ctx, deliverystoretest.Paid(t, order, &deliverystoretest.Address))
			if err != nil {
				t.Fatal(err)
			}
			var d events.DeliveryStartedData
			if err := events.Decode(*reply, &d); err != nil {
				t.Fatal(err)
			}
			if reply.ID() != ids.Derive(order, "DELIVERY_STARTED") || d.OrderID != order ||
				d.DeliveryID != ids.Derive(order, "delivery") || d.Partner.ID != "sandbox" || d.Address.City != "Springfield" {
				t.Fatalf("reply %s = %+v", reply.ID(), d)
			}
			if reply.Extensions()[events.ExtPartitionKey] != order {
				t.Fatalf("partitionkey = %v, want the order id", reply.Extensions()[events.ExtPartitionKey])
			}
		})
		t.Run("redelivery answers the very same reply and creates nothing", func(t *testing.T) {
			order := ids.New()
			first, err := f.Handle(ctx, deliverystoretest.Paid(t, order, &deliverystoretest.Address))
			if err != nil {
				t.Fatal(err)
			}
			again, err := f.Handle(ctx, deliverystoretest.Paid(t, order, &deliverystoretest.Address))
			if err != nil {
				t.Fatal(err)
			}
			if again.ID() != first.ID() || !again.Time().Equal(first.Time()) || string(again.Data()) != string(first.Data()) {
				t.Fatalf("second reply differs: %s %s vs %s %s", again.ID(), again.Data(), first.ID(), first.Data())
			}
			if n := count(t, f.Opened().DB(), order); n != 1 {
				t.Fatalf("%d deliveries for the order, want 1", n)
			}
		})
		t.Run("concurrent deliveries create one delivery and answer alike", func(t *testing.T) {
			order := ids.New()
			e := deliverystoretest.Paid(t, order, &deliverystoretest.Address)
			var wg sync.WaitGroup
			replies := make([]*event.Event, 8)
			errs := make([]error, 8)
			for i := range replies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					replies[i], errs[i] = f.Handle(ctx, e)
				}()
			}
			wg.Wait()
			for i := range replies {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				if string(replies[i].Data()) != string(replies[0].Data()) {
					t.Fatalf("reply %d differs: %s vs %s", i, replies[i].Data(), replies[0].Data())
				}
			}
			if n := count(t, f.Opened().DB(), order); n != 1 {
				t.Fatalf("%d deliveries for the order, want 1", n)
			}
		})
		t.Run("couriers are assigned in turn", func(t *testing.T) {
			seen := map[string]int{}
			for range 4 {
				reply, err := f.Handle(ctx, deliverystoretest.Paid(t, ids.New(), &deliverystoretest.Address))
				if err != nil {
					t.Fatal(err)
				}
				var d events.DeliveryStartedData
				if err := events.Decode(*reply, &d); err != nil {
					t.Fatal(err)
				}
				got, err := f.Opened().Get(ctx, d.DeliveryID)
				if err != nil {
					t.Fatal(err)
				}
				seen[got.CourierID]++
			}
			if seen["courier-a"] != 2 || seen["courier-b"] != 2 {
				t.Fatalf("courier assignments = %v, want 2 each", seen)
			}
		})
	})
}

// TestStatusMapping drives the function through the runtime's HTTP adapter
// the way the Broker does.
func TestStatusMapping(t *testing.T) {
	f := started(t, storetest.MySQL(t, "deliveries"), "")
	h, err := fn.Handler(f)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	wrongType := eventstest.Build(t, events.OrderCompletedData{
		OrderID: ids.New(), CustomerID: "c", CompletedAt: time.Now().UTC()})
	noAddress := deliverystoretest.Paid(t, ids.New(), nil)
	cases := map[string]struct {
		event      event.Event
		wantStatus int
		wantRows   int
	}{
		"paid order gets its delivery":         {event: deliverystoretest.Paid(t, ids.New(), &deliverystoretest.Address), wantStatus: http.StatusOK, wantRows: 1},
		"payment without address is permanent": {event: noAddress, wantStatus: http.StatusBadRequest},
		"another event type is permanent":      {event: wrongType, wantStatus: http.StatusBadRequest},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp := brokertest.Send(t, srv.URL, tc.event)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus == http.StatusOK && resp.Header.Get("Ce-Type") != string(events.DeliveryStarted) {
				t.Fatalf("reply type = %q", resp.Header.Get("Ce-Type"))
			}
			var data events.PaymentSuccessData
			if err := events.Decode(tc.event, &data); err == nil {
				if n := count(t, f.Opened().DB(), data.OrderID); n != tc.wantRows {
					t.Fatalf("%d deliveries, want %d", n, tc.wantRows)
				}
			}
		})
	}
}

// TestCancelledOrderGetsNoDelivery: after cancel-delivery left its
// tombstone, a PAYMENT_SUCCESS (late, or redelivered after the delivery was
// cancelled) creates nothing and answers nothing: 204 through the runtime,
// so the Broker publishes no DELIVERY_STARTED.
func TestCancelledOrderGetsNoDelivery(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		f := started(t, engine.Config(t, "deliveries"), "")
		h, err := fn.Handler(f)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		ctx := context.Background()
		cases := map[string]struct {
			startFirst bool // the delivery was started before the cancellation
			wantRows   int
		}{
			"cancelled before the payment arrived": {wantRows: 0},
			"cancelled after the delivery started": {startFirst: true, wantRows: 1},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				order := ids.New()
				e := deliverystoretest.Paid(t, order, &deliverystoretest.Address)
				if tc.startFirst {
					if reply, err := f.Handle(ctx, e); err != nil || reply == nil {
						t.Fatalf("first delivery = %v, %v", reply, err)
					}
				}
				if _, err := f.Opened().CancelOrder(ctx, order, "customer_request", time.Now()); err != nil {
					t.Fatal(err)
				}
				for attempt := 1; attempt <= 2; attempt++ {
					reply, err := f.Handle(ctx, e)
					if err != nil || reply != nil {
						t.Fatalf("attempt %d: Handle = %v, %v; want no reply, no error", attempt, reply, err)
					}
				}
				resp := brokertest.Send(t, srv.URL, e)
				if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Ce-Type") != "" {
					t.Fatalf("status %d, reply type %q; want 204 and none", resp.StatusCode, resp.Header.Get("Ce-Type"))
				}
				if n := count(t, f.Opened().DB(), order); n != tc.wantRows {
					t.Fatalf("%d deliveries, want %d", n, tc.wantRows)
				}
				if tc.startFirst {
					got, err := f.Opened().ByOrder(ctx, order)
					if err != nil {
						t.Fatal(err)
					}
					if got.Status != deliverystore.Cancelled {
						t.Fatalf("delivery is %s, want CANCELLED", got.Status)
					}
				}
			})
		}
	})
}
