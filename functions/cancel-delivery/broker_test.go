package canceldelivery_test

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

	"github.com/cloudevents/sdk-go/v2/event"

	canceldelivery "github.com/knshop/knshop/functions/cancel-delivery"
	startdelivery "github.com/knshop/knshop/functions/start-delivery"
	"github.com/knshop/knshop/lib/broker/brokertest"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/deliverystore/deliverystoretest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

// answers records, per order and event type, the status codes a function
// answered the Broker with.
type answers struct {
	mu  sync.Mutex
	got map[string][]int // "<order> <type>" → statuses
}

func (a *answers) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		a.mu.Lock()
		key := r.Header.Get("Ce-Partitionkey") + " " + r.Header.Get("Ce-Type")
		a.got[key] = append(a.got[key], rec.Code)
		a.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		if _, err := w.Write(rec.Body.Bytes()); err != nil {
			slog.Debug("writing the answer to the broker failed", "error", err)
		}
	})
}

func (a *answers) of(order string, typ events.Type) []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]int(nil), a.got[order+" "+string(typ)]...)
}

// waitAnswered waits until the function answered order's event of typ.
func (a *answers) waitAnswered(t *testing.T, order string, typ events.Type) []int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if got := a.of(order, typ); len(got) > 0 {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("order %s: %s never reached its function", order, typ)
	return nil
}

// TestThroughTheBroker runs the repo's Broker on embedded Kafka with the
// real start-delivery and cancel-delivery Triggers and both functions on
// one embedded deliveries database, and publishes each order's
// PAYMENT_SUCCESS and ORDER_CANCELLED in the three possible timings.
func TestThroughTheBroker(t *testing.T) {
	ctx := t.Context()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mysqlCfg := storetest.EmbeddedMySQL(t, "unused")
	deadLetters := storetest.NewEventRecorder(t)
	cfg := map[string]string{"MYSQL_DSN": mysqlCfg.DSN, "KNSHOP_SERIALIZE_DB": "true"}
	seen := &answers{got: map[string][]int{}}

	urls := map[string]string{"dead-letter": deadLetters.URL()}
	for name, f := range map[string]any{"start-delivery": startdelivery.New(), "cancel-delivery": canceldelivery.New()} {
		inst, err := fn.NewInstance(name, f, quiet)
		if err != nil {
			t.Fatal(err)
		}
		if err := inst.Start(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(seen.wrap(inst))
		t.Cleanup(func() {
			srv.Close()
			if err := inst.Stop(context.Background()); err != nil {
				t.Error(err)
			}
		})
		urls[name] = srv.URL
	}

	b := brokertest.Start(t, "../..", urls, "start-delivery", "cancel-delivery")
	ingress := httptest.NewServer(b.Handler())
	defer ingress.Close()
	publish := func(t *testing.T, e event.Event) { brokertest.Publish(t, ingress.URL+"/knshop/default", e) }
	paid := func(t *testing.T, order string) event.Event {
		return deliverystoretest.Paid(t, order, &deliverystoretest.Address)
	}
	cancelled := func(t *testing.T, order string) event.Event {
		return deliverystoretest.Cancelled(t, order, "customer_request")
	}
	store := deliverystoretest.Open(t, sqlstore.Config{DSN: mysqlCfg.DSN, Database: deliverystore.Database, Serialize: true})

	cases := []struct {
		name string
		run  func(t *testing.T, order string)
		// wantStart is start-delivery's answer: 204 (nothing), 200 (DELIVERY_STARTED), 0 for either.
		wantStart int
		// wantDelivery is the order's delivery at the end: "" none, or CANCELLED; "any" for either.
		wantDelivery string
	}{
		{"cancelled before the payment reached start-delivery", func(t *testing.T, order string) {
			publish(t, cancelled(t, order))
			seen.waitAnswered(t, order, events.OrderCancelled)
			publish(t, paid(t, order))
		}, http.StatusNoContent, ""},
		{"cancelled after the delivery started", func(t *testing.T, order string) {
			publish(t, paid(t, order))
			seen.waitAnswered(t, order, events.PaymentSuccess)
			publish(t, cancelled(t, order))
		}, http.StatusOK, string(deliverystore.Cancelled)},
		{"payment and cancellation at once", func(t *testing.T, order string) {
			publish(t, paid(t, order))
			publish(t, cancelled(t, order))
		}, 0, "any"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			order := ids.New()
			tc.run(t, order)
			start := seen.waitAnswered(t, order, events.PaymentSuccess)
			cancel := seen.waitAnswered(t, order, events.OrderCancelled)
			if len(start) != 1 || len(cancel) != 1 || cancel[0] != http.StatusNoContent {
				t.Fatalf("answers: start-delivery %v, cancel-delivery %v", start, cancel)
			}
			if tc.wantStart != 0 && start[0] != tc.wantStart {
				t.Fatalf("start-delivery answered %d, want %d", start[0], tc.wantStart)
			}
			d, err := store.ByOrder(ctx, order)
			switch {
			case errors.Is(err, deliverystore.ErrNotFound):
				if tc.wantDelivery != "" && tc.wantDelivery != "any" {
					t.Fatalf("no delivery, want %s", tc.wantDelivery)
				}
				if start[0] != http.StatusNoContent {
					t.Fatalf("start-delivery answered %d but created no delivery", start[0])
				}
			case err != nil:
				t.Fatal(err)
			case d.Status != deliverystore.Cancelled || tc.wantDelivery == "":
				t.Fatalf("the cancelled order ends with a %s delivery, want %q", d.Status, tc.wantDelivery)
			}
		})
	}
	if n := len(deadLetters.Events()); n != 0 {
		t.Fatalf("%d events were dead-lettered", n)
	}
}
