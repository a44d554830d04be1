package reservestock

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/catalog/catalogtest"
	"github.com/knshop/knshop/lib/embedded"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/storetest"
)

// fixture is a started reserve-stock behind its HTTP handler, on a fresh
// catalog of the embedded FerretDB (serialized, as `make run` runs it).
type fixture struct{ *catalogtest.Started }

func newFixture(t *testing.T) *fixture { return &fixture{catalogtest.StartNew(t, New())} }

func (fx *fixture) product(t *testing.T, stock int64) string {
	t.Helper()
	return catalogtest.AddProduct(t, fx.Store, stock)
}

func (fx *fixture) stock(t *testing.T, id string) int64 {
	t.Helper()
	stock, _, _ := catalogtest.Counters(t, fx.Store, id)
	return stock
}

func orderPlaced(t *testing.T, order string, qty map[string]int64) event.Event {
	t.Helper()
	d := events.OrderPlacedData{
		OrderID: order, CustomerID: ids.New(), Total: money.New(5000, "USD"),
		ShippingAddress: events.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"},
		PaymentMethod:   "pm_card_visa", PlacedAt: time.Now().UTC(),
	}
	for p, q := range qty {
		d.Items = append(d.Items, events.PricedItem{ProductID: p, Quantity: q, UnitPrice: money.New(2500, "USD")})
	}
	e := eventstest.Build(t, d)
	return e
}

// deliver posts e the way the Broker does and returns the status and reply.
func (fx *fixture) deliver(t *testing.T, e event.Event) (int, *event.Event) {
	t.Helper()
	return storetest.Deliver(t, fx.H, e)
}

func TestHandle(t *testing.T) {
	fx := newFixture(t)
	tests := map[string]struct {
		event      func(t *testing.T) (event.Event, []string)
		wantStatus int
		wantType   events.Type
		wantStock  []int64
	}{
		"enough stock reserves every item": {
			event: func(t *testing.T) (event.Event, []string) {
				a, b := fx.product(t, 5), fx.product(t, 5)
				return orderPlaced(t, ids.New(), map[string]int64{a: 2, b: 5}), []string{a, b}
			},
			wantStatus: http.StatusOK, wantType: events.StockReserved, wantStock: []int64{3, 0},
		},
		"one item short rejects the order and keeps the stock": {
			event: func(t *testing.T) (event.Event, []string) {
				a, b := fx.product(t, 5), fx.product(t, 1)
				return orderPlaced(t, ids.New(), map[string]int64{a: 2, b: 2}), []string{a, b}
			},
			wantStatus: http.StatusOK, wantType: events.StockRejected, wantStock: []int64{5, 1},
		},
		"unknown product is a shortage": {
			event: func(t *testing.T) (event.Event, []string) {
				a := fx.product(t, 5)
				return orderPlaced(t, ids.New(), map[string]int64{a: 1, ids.New(): 1}), []string{a}
			},
			wantStatus: http.StatusOK, wantType: events.StockRejected, wantStock: []int64{5},
		},
		"order id that is not an id is refused for good": {
			event: func(t *testing.T) (event.Event, []string) {
				a := fx.product(t, 5)
				return orderPlaced(t, "order.1", map[string]int64{a: 1}), []string{a}
			},
			wantStatus: http.StatusBadRequest, wantStock: []int64{5},
		},
		"data that breaks the schema is refused for good": {
			event: func(t *testing.T) (event.Event, []string) {
				a := fx.product(t, 5)
				e := orderPlaced(t, ids.New(), map[string]int64{a: 1})
				if err := e.SetData(event.ApplicationJSON, json.RawMessage(`{"orderId":"x","items":[]}`)); err != nil {
					t.Fatal(err)
				}
				return e, []string{a}
			},
			wantStatus: http.StatusBadRequest, wantStock: []int64{5},
		},
		"another event type is refused for good": {
			event: func(t *testing.T) (event.Event, []string) {
				a := fx.product(t, 5)
				e := orderPlaced(t, ids.New(), map[string]int64{a: 1})
				e.SetType(string(events.OrderCompleted))
				return e, []string{a}
			},
			wantStatus: http.StatusBadRequest, wantStock: []int64{5},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, products := tc.event(t)
			status, reply := fx.deliver(t, e)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d", status, tc.wantStatus)
			}
			if tc.wantType != "" {
				if reply == nil || events.Type(reply.Type()) != tc.wantType {
					t.Fatalf("reply %v, want %s", reply, tc.wantType)
				}
				checkReply(t, e, *reply)
			}
			for i, p := range products {
				if got := fx.stock(t, p); got != tc.wantStock[i] {
					t.Errorf("product %d stock %d, want %d", i, got, tc.wantStock[i])
				}
			}
		})
	}
}

// checkReply proves the reply continues the order: derived id, subject,
// partition key, and what the next saga steps need.
func checkReply(t *testing.T, placed, reply event.Event) {
	t.Helper()
	var p events.OrderPlacedData
	if err := events.Decode(placed, &p); err != nil {
		t.Fatal(err)
	}
	if reply.ID() != ids.Derive(p.OrderID, reply.Type()) || reply.Subject() != p.OrderID ||
		reply.Extensions()[events.ExtPartitionKey] != p.OrderID || reply.Source() != "/knshop/reserve-stock" {
		t.Fatalf("reply attributes %s", reply)
	}
	switch events.Type(reply.Type()) {
	case events.StockReserved:
		var d events.StockReservedData
		if err := events.Decode(reply, &d); err != nil {
			t.Fatal(err)
		}
		if d.CustomerID != p.CustomerID || d.Total != p.Total || d.PaymentMethod != p.PaymentMethod ||
			d.ShippingAddress != p.ShippingAddress || len(d.Items) != len(p.Items) {
			t.Fatalf("STOCK_RESERVED %+v does not carry the order %+v", d, p)
		}
	case events.StockRejected:
		var d events.StockRejectedData
		if err := events.Decode(reply, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Shortages) == 0 || d.CustomerID != p.CustomerID {
			t.Fatalf("STOCK_REJECTED %+v", d)
		}
	}
}

func TestRedeliveryAnswersTheSameReply(t *testing.T) {
	fx := newFixture(t)
	tests := map[string]struct {
		stock      int64
		concurrent bool
		wantType   events.Type
		wantStock  int64
	}{
		"twice, reserved":        {stock: 3, wantType: events.StockReserved, wantStock: 1},
		"twice, rejected":        {stock: 1, wantType: events.StockRejected, wantStock: 1},
		"concurrently, reserved": {stock: 3, concurrent: true, wantType: events.StockReserved, wantStock: 1},
		"concurrently, rejected": {stock: 1, concurrent: true, wantType: events.StockRejected, wantStock: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := fx.product(t, tc.stock)
			e := orderPlaced(t, ids.New(), map[string]int64{p: 2})
			const deliveries = 5
			replies := make([]*event.Event, deliveries)
			storetest.Repeat(deliveries, tc.concurrent, func(i int) {
				status, reply := fx.deliver(t, e)
				if status != http.StatusOK {
					t.Errorf("delivery %d: status %d", i, status)
				}
				replies[i] = reply
			})
			for i, r := range replies {
				if r == nil || events.Type(r.Type()) != tc.wantType || r.ID() != replies[0].ID() ||
					string(r.Data()) != string(replies[0].Data()) {
					t.Fatalf("delivery %d answered %v, first answered %v", i, r, replies[0])
				}
			}
			if got := fx.stock(t, p); got != tc.wantStock {
				t.Fatalf("stock %d, want %d", got, tc.wantStock)
			}
		})
	}
}

func TestCancelledBeforeReservedGetsNoReply(t *testing.T) {
	fx := newFixture(t)
	p, order := fx.product(t, 4), ids.New()
	if _, err := fx.Store.CancelOrder(t.Context(), order); err != nil {
		t.Fatal(err)
	}
	status, reply := fx.deliver(t, orderPlaced(t, order, map[string]int64{p: 1}))
	if status != http.StatusNoContent || reply != nil {
		t.Fatalf("status %d reply %v, want 204 and none", status, reply)
	}
	if got := fx.stock(t, p); got != 4 {
		t.Fatalf("stock %d, want 4", got)
	}
}

// TestNoOversell: 50 orders race through the function for 10 units.
func TestNoOversell(t *testing.T) {
	const orders, units = 50, 10
	fx := newFixture(t)
	p := fx.product(t, units)
	types := make([]events.Type, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, reply := fx.deliver(t, orderPlaced(t, ids.New(), map[string]int64{p: 1}))
			if status != http.StatusOK || reply == nil {
				t.Errorf("order %d: status %d", i, status)
				return
			}
			types[i] = events.Type(reply.Type())
		}()
	}
	wg.Wait()
	count := map[events.Type]int{}
	for _, ty := range types {
		count[ty]++
	}
	if count[events.StockReserved] != units || count[events.StockRejected] != orders-units {
		t.Fatalf("replies %v, want %d reserved and %d rejected", count, units, orders-units)
	}
	if got := fx.stock(t, p); got != 0 {
		t.Fatalf("stock %d, want 0", got)
	}
}

// TestStoreDownIsRetried: when the database goes away mid-flight the
// function answers 500, so the Broker redelivers; the redelivery, on a
// working store, does the work once.
func TestStoreDownIsRetried(t *testing.T) {
	fx := newFixture(t)
	p := fx.product(t, 2)
	e := orderPlaced(t, ids.New(), map[string]int64{p: 1})

	srv, err := embedded.StartMongo(t.Context(), t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down, err := fn.NewInstance(Name, New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := down.Start(t.Context(), map[string]string{"MONGODB_URI": srv.URI()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := down.Stop(context.WithoutCancel(t.Context())); err != nil {
			t.Log(err)
		}
	})
	srv.Close()
	broken := &fixture{&catalogtest.Started{H: down}}
	if status, _ := broken.deliver(t, e); status != http.StatusInternalServerError {
		t.Fatalf("status %d with the store down, want 500", status)
	}
	status, reply := fx.deliver(t, e)
	if status != http.StatusOK || reply == nil || events.Type(reply.Type()) != events.StockReserved {
		t.Fatalf("redelivery: status %d reply %v", status, reply)
	}
	if got := fx.stock(t, p); got != 1 {
		t.Fatalf("stock %d, want 1", got)
	}
}
