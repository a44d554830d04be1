package releasestock

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/catalog/catalogtest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/storetest"
)

// fixture is a started release-stock behind its HTTP handler, on a fresh
// catalog of the embedded FerretDB (serialized, as `make run` runs it).
type fixture struct{ *catalogtest.Started }

func newFixture(t *testing.T) *fixture { return &fixture{catalogtest.StartNew(t, New())} }

// reserved makes a product with stock units and an order holding qty of it.
func (fx *fixture) reserved(t *testing.T, stock, qty int64) (order, product string) {
	t.Helper()
	product = catalogtest.AddProduct(t, fx.Store, stock)
	order = ids.New()
	if qty > 0 {
		h, err := fx.Store.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: product, Quantity: qty}})
		if err != nil {
			t.Fatal(err)
		}
		if h.Status != catalog.StatusReserved {
			t.Fatalf("setup: hold %s", h.Status)
		}
	}
	return order, product
}

func (fx *fixture) stock(t *testing.T, id string) (stock, reserved int64) {
	t.Helper()
	stock, reserved, _ = catalogtest.Counters(t, fx.Store, id)
	return stock, reserved
}

func cancelled(t *testing.T, order string) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.OrderCancelledData{
		OrderID: order, CustomerID: ids.New(), Reason: events.ReasonCustomerRequest, CancelledAt: time.Now().UTC(),
	})
	return e
}

func (fx *fixture) deliver(t *testing.T, e event.Event) int {
	t.Helper()
	status, _ := storetest.Deliver(t, fx.H, e)
	return status
}

func TestHandle(t *testing.T) {
	fx := newFixture(t)
	tests := map[string]struct {
		qty        int64 // reserved before the cancellation; 0: nothing
		deliveries int
		concurrent bool
		deleted    bool
		event      func(t *testing.T, order string) event.Event
		wantStatus int
		wantStock  int64
	}{
		"a cancelled order gives its stock back":        {qty: 3, deliveries: 1, wantStatus: http.StatusNoContent, wantStock: 10},
		"delivered twice gives back once":               {qty: 3, deliveries: 2, wantStatus: http.StatusNoContent, wantStock: 10},
		"delivered concurrently gives back once":        {qty: 3, deliveries: 6, concurrent: true, wantStatus: http.StatusNoContent, wantStock: 10},
		"an order that reserved nothing is a no-op":     {deliveries: 1, wantStatus: http.StatusNoContent, wantStock: 10},
		"a product deleted while reserved gets it back": {qty: 4, deliveries: 1, deleted: true, wantStatus: http.StatusNoContent, wantStock: 10},
		"an order id that is not an id is refused": {qty: 3, deliveries: 1, wantStatus: http.StatusBadRequest, wantStock: 7,
			event: func(t *testing.T, _ string) event.Event { return cancelled(t, "$order") }},
		"data that breaks the schema is refused": {qty: 3, deliveries: 1, wantStatus: http.StatusBadRequest, wantStock: 7,
			event: func(t *testing.T, order string) event.Event {
				e := cancelled(t, order)
				if err := e.SetData(event.ApplicationJSON, json.RawMessage(`{"orderId":"`+order+`","reason":"bored"}`)); err != nil {
					t.Fatal(err)
				}
				return e
			}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			order, product := fx.reserved(t, 10, tc.qty)
			if tc.deleted {
				catalogtest.Delete(t, fx.Store, product)
			}
			build := cancelled
			if tc.event != nil {
				build = tc.event
			}
			e := build(t, order)
			storetest.Repeat(tc.deliveries, tc.concurrent, func(int) {
				if got := fx.deliver(t, e); got != tc.wantStatus {
					t.Errorf("status %d, want %d", got, tc.wantStatus)
				}
			})
			stock, reserved := fx.stock(t, product)
			if stock != tc.wantStock || stock+reserved != 10 {
				t.Fatalf("stock %d reserved %d, want stock %d of 10", stock, reserved, tc.wantStock)
			}
		})
	}
}

// TestCancellationBeforeReservationBarsIt: ORDER_CANCELLED handled before
// its ORDER_PLACED (another trigger, another consumer) leaves nothing to
// release, and the late reservation takes nothing.
func TestCancellationBeforeReservationBarsIt(t *testing.T) {
	fx := newFixture(t)
	_, product := fx.reserved(t, 5, 0)
	order := ids.New()
	if got := fx.deliver(t, cancelled(t, order)); got != http.StatusNoContent {
		t.Fatalf("status %d", got)
	}
	h, err := fx.Store.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: product, Quantity: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != catalog.StatusCancelled {
		t.Fatalf("late reservation: hold %s, want cancelled", h.Status)
	}
	if stock, reserved := fx.stock(t, product); stock != 5 || reserved != 0 {
		t.Fatalf("stock %d reserved %d, want 5 and 0", stock, reserved)
	}
}
