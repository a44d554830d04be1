package canceldelivery

import (
	"context"
	"errors"
	"io"
	"log/slog"
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

// started is a cancel-delivery on a fresh deliveries database of sc, and
// that database's store for the test's own reads and writes.
func started(t *testing.T, sc sqlstore.Config) (*fn.Reaction[canceller], *deliverystore.Store) {
	t.Helper()
	f := New()
	if err := f.Start(context.Background(), map[string]string{}); err == nil {
		t.Fatal("Start without MYSQL_DSN succeeded")
	}
	storetest.StartFunction(t, f, sc.Env(deliverystore.Database))
	return f, f.Opened().(*deliverystore.Store)
}

func allowAll(deliverystore.Delivery) error { return nil }

func stepEvent(d deliverystore.Delivery) (event.Event, error) {
	return events.New(context.Background(), "deliveries", events.DeliveryCourieredPartnerData{
		DeliveryID: d.ID, OrderID: d.OrderID, Partner: d.Partner, TrackingNumber: "KN1", CourieredAt: d.UpdatedAt})
}

func TestCancelDelivery(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		f, store := started(t, engine.Config(t, "deliveries"))
		ctx := context.Background()
		cases := map[string]struct {
			reason     string
			delivery   deliverystore.Status // "" for none yet
			wantStatus deliverystore.Status // "" for none at the end
			wantSteps  int
		}{
			"customer cancels before the delivery exists": {reason: "customer_request"},
			"customer cancels a started delivery": {reason: "customer_request", delivery: deliverystore.Started,
				wantStatus: deliverystore.Cancelled, wantSteps: 2},
			"account deletion cancels a started delivery": {reason: "user_deleted", delivery: deliverystore.Started,
				wantStatus: deliverystore.Cancelled, wantSteps: 2},
			"a couriered delivery goes on": {reason: "customer_request", delivery: deliverystore.Couriered,
				wantStatus: deliverystore.Couriered, wantSteps: 2},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				order := ids.New()
				if tc.delivery != "" {
					if _, err := deliverystoretest.Create(t, store, order); err != nil {
						t.Fatal(err)
					}
				}
				if tc.delivery == deliverystore.Couriered {
					if _, _, err := store.Advance(ctx, ids.Derive(order, "delivery"),
						deliverystore.Step{To: deliverystore.Couriered, At: time.Now()}, allowAll, stepEvent); err != nil {
						t.Fatal(err)
					}
				}
				e := deliverystoretest.Cancelled(t, order, tc.reason)
				for attempt := 1; attempt <= 3; attempt++ { // the first delivery and two redeliveries
					reply, err := f.Handle(ctx, e)
					if err != nil || reply != nil {
						t.Fatalf("delivery %d: Handle = %v, %v; want no reply, no error", attempt, reply, err)
					}
				}
				got, err := store.ByOrder(ctx, order)
				switch {
				case tc.wantStatus == "" && !errors.Is(err, deliverystore.ErrNotFound):
					t.Fatalf("ByOrder = %+v, %v; want no delivery", got, err)
				case tc.wantStatus != "" && err != nil:
					t.Fatal(err)
				case got.Status != tc.wantStatus || len(got.History) != tc.wantSteps:
					t.Fatalf("delivery %s with history %v; want %s with %d steps", got.Status, got.History, tc.wantStatus, tc.wantSteps)
				}
				// A PAYMENT_SUCCESS arriving now (late, or redelivered) starts nothing.
				if created, err := deliverystoretest.Create(t, store, order); created || !errors.Is(err, deliverystore.ErrOrderCancelled) {
					t.Fatalf("start after the cancellation: created %v, %v", created, err)
				}
				if tc.wantStatus == "" {
					if _, err := store.ByOrder(ctx, order); !errors.Is(err, deliverystore.ErrNotFound) {
						t.Fatalf("a delivery exists after a late start: %v", err)
					}
				}
			})
		}
	})
}

// TestConcurrentDeliveries: eight copies of one ORDER_CANCELLED at once
// cancel the delivery once (one CANCELLED history entry).
func TestConcurrentDeliveries(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		f, store := started(t, engine.Config(t, "deliveries"))
		order := ids.New()
		if _, err := deliverystoretest.Create(t, store, order); err != nil {
			t.Fatal(err)
		}
		e := deliverystoretest.Cancelled(t, order, "customer_request")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.Handle(context.Background(), e)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := store.ByOrder(context.Background(), order)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != deliverystore.Cancelled || len(got.History) != 2 {
			t.Fatalf("delivery %s with history %v; want CANCELLED after STARTED", got.Status, got.History)
		}
	})
}

// TestCancelRacesStart races cancel-delivery's handling against the
// creation of the delivery 30 times per engine: every order ends with no
// delivery or a CANCELLED one.
func TestCancelRacesStart(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		f, store := started(t, engine.Config(t, "deliveries"))
		ctx := context.Background()
		none, cancelledAfter := 0, 0
		for range 30 {
			order := ids.New()
			e := deliverystoretest.Cancelled(t, order, "customer_request")
			var (
				wg                  sync.WaitGroup
				startErr, cancelErr error
			)
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, startErr = deliverystoretest.Create(t, store, order)
			}()
			go func() {
				defer wg.Done()
				_, cancelErr = f.Handle(ctx, e)
			}()
			wg.Wait()
			if cancelErr != nil {
				t.Fatal(cancelErr)
			}
			if startErr != nil && !errors.Is(startErr, deliverystore.ErrOrderCancelled) {
				t.Fatal(startErr)
			}
			got, err := store.ByOrder(ctx, order)
			switch {
			case errors.Is(err, deliverystore.ErrNotFound):
				none++
			case err != nil:
				t.Fatal(err)
			case got.Status != deliverystore.Cancelled:
				t.Fatalf("order %s ends with a %s delivery", order, got.Status)
			default:
				cancelledAfter++
			}
		}
		t.Logf("%d orders without a delivery, %d with a cancelled one", none, cancelledAfter)
	})
}

// brokenStore fails like a database that is down.
type brokenStore struct{}

var errDown = errors.New("database is down")

func (brokenStore) CancelOrder(context.Context, string, string, time.Time) (deliverystore.Cancellation, error) {
	return deliverystore.Cancellation{}, errDown
}

// TestStatusMapping drives the function through the runtime's HTTP adapter
// the way the Broker does: handled is 204 (no reply), a bad event 400 (not
// retried), a store failure 500 (retried), and the retry after the store
// recovers does the work.
func TestStatusMapping(t *testing.T) {
	f, store := started(t, storetest.MySQL(t, "deliveries"))
	inst, err := fn.NewInstance(Name, f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(inst)
	defer srv.Close()
	ctx := context.Background()

	wrongType := eventstest.Build(t, events.OrderCompletedData{OrderID: ids.New(), CustomerID: "c", CompletedAt: time.Now().UTC()})
	badReason := deliverystoretest.Cancelled(t, ids.New(), "customer_request")
	if err := badReason.SetData("application/json", map[string]any{
		"orderId": ids.New(), "customerId": "c", "reason": "bored", "cancelledAt": time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	retried := ids.New()
	if _, err := deliverystoretest.Create(t, store, retried); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		event  event.Event
		broken bool
		want   int
	}{
		{"an ORDER_CANCELLED is handled with no reply", deliverystoretest.Cancelled(t, ids.New(), "customer_request"), false, http.StatusNoContent},
		{"another event type is permanent", wrongType, false, http.StatusBadRequest},
		{"an unknown reason is permanent", badReason, false, http.StatusBadRequest},
		{"a store failure is retried", deliverystoretest.Cancelled(t, retried, "customer_request"), true, http.StatusInternalServerError},
		{"the retry after the store recovers cancels", deliverystoretest.Cancelled(t, retried, "customer_request"), false, http.StatusNoContent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.Swap(func(canceller) canceller {
				if tc.broken {
					return brokenStore{}
				}
				return store
			})
			resp := brokertest.Send(t, srv.URL, tc.event)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			got, err := store.ByOrder(ctx, retried)
			if err != nil {
				t.Fatal(err)
			}
			wantRetried := deliverystore.Started
			if tc.name == "the retry after the store recovers cancels" {
				wantRetried = deliverystore.Cancelled
			}
			if got.Status != wantRetried {
				t.Fatalf("the retried order's delivery is %s, want %s", got.Status, wantRetried)
			}
		})
	}
}
