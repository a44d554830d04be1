package completeorder_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	completeorder "github.com/knshop/knshop/functions/complete-order"
	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/events/eventstest"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/storetest"
)

// flaky fails the first fail calls of SettleOrder (a crash between the two
// stores' steps), then settles for real; it counts the calls.
type flaky struct {
	real        completeorder.Stock
	fail, calls atomic.Int32
}

func (s *flaky) SettleOrder(ctx context.Context, orderID string) (int64, error) {
	s.calls.Add(1)
	if s.fail.Add(-1) >= 0 {
		return 0, errors.New("catalog unreachable")
	}
	return s.real.SettleOrder(ctx, orderID)
}

func completed(o orderstore.Order) events.DeliveryCompletedData {
	return events.DeliveryCompletedData{DeliveryID: ids.Derive(o.ID, "delivery"), OrderID: o.ID, CompletedAt: time.Now().UTC()}
}

// stores are a fresh orders database and catalog.
type stores struct {
	db  *orderstoretest.DB
	cat *catalog.Store
}

func newStores(t *testing.T, eng storetest.Engine) stores {
	t.Helper()
	cat, err := catalog.Open(context.Background(), storetest.Mongo(t, catalog.Database))
	if err != nil {
		t.Fatal(err)
	}
	return stores{db: orderstoretest.New(t, eng), cat: cat}
}

// product puts a product in both stores with 5 in stock.
func (s stores) product(t *testing.T) string {
	t.Helper()
	id := s.db.Product(t, "Mug", money.New(100, "USD"), 5)
	if err := s.cat.Create(context.Background(), catalog.Product{ID: id, SellerID: ids.New(), Name: "Mug", Category: "kitchen",
		Price: money.New(100, "USD"), Stock: 5, Version: 1, CreatedAt: catalog.Now(), UpdatedAt: catalog.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	return id
}

// reserve reserves one unit of product for order in the catalog.
func (s stores) reserve(t *testing.T, order, product string) {
	t.Helper()
	if h, err := s.cat.ReserveOrder(context.Background(), order, []catalog.Item{{ProductID: product, Quantity: 1}}); err != nil || h.Status != catalog.StatusReserved {
		t.Fatalf("reserve: %+v %v", h, err)
	}
}

// handler is complete-order on the orders database, selling stock through
// stock, behind the handler the Broker delivers to.
func (s stores) handler(t *testing.T, stock completeorder.Stock) http.Handler {
	t.Helper()
	f := completeorder.New()
	f.Use(s.db.Store, stock)
	h, err := fn.Handler(f)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestCompleteOrder(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		ctx := context.Background()
		st := newStores(t, eng)
		db, cat := st.db, st.cat
		cust := ids.New()
		cases := map[string]struct {
			path       []orderstore.Status
			reserve    bool
			failFirst  int32
			deliveries int
			wantCodes  []int
			wantStatus orderstore.Status
			wantSold   int64
			wantSettle int32 // SettleOrder calls
		}{
			"in transit order completes":        {[]orderstore.Status{orderstore.Paid, orderstore.InTransit}, true, 0, 1, []int{200}, orderstore.Completed, 1, 1},
			"delivered three times":             {[]orderstore.Status{orderstore.Paid, orderstore.InTransit}, true, 0, 3, []int{200, 200, 200}, orderstore.Completed, 1, 3},
			"catalog fails, the retry finishes": {[]orderstore.Status{orderstore.Paid, orderstore.Shipping}, true, 1, 2, []int{500, 200}, orderstore.Completed, 1, 2},
			"completes straight from paid":      {[]orderstore.Status{orderstore.Paid}, true, 0, 1, []int{200}, orderstore.Completed, 1, 1},
			"cancelled order is left alone":     {[]orderstore.Status{orderstore.Cancelled}, false, 0, 2, []int{204, 204}, orderstore.Cancelled, 0, 0},
			"nothing reserved still completes":  {[]orderstore.Status{orderstore.Paid, orderstore.InTransit}, false, 0, 1, []int{200}, orderstore.Completed, 0, 1},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				pid := st.product(t)
				o := db.Order(t, cust, pid, tc.path...)
				if tc.reserve {
					st.reserve(t, o.ID, pid)
				}
				s := &flaky{real: cat}
				s.fail.Store(tc.failFirst)
				h := st.handler(t, s)
				e := eventstest.Build(t, completed(o))
				for i := range tc.deliveries {
					code, reply := storetest.Deliver(t, h, e)
					if code != tc.wantCodes[i] {
						t.Fatalf("delivery %d: status %d, want %d", i, code, tc.wantCodes[i])
					}
					if code == 500 {
						if got := db.Get(t, o.ID).Status; got == orderstore.Completed {
							t.Fatal("completed although the stock was not settled")
						}
					}
					if code != 200 {
						continue
					}
					var c events.OrderCompletedData
					if err := events.Decode(*reply, &c); err != nil {
						t.Fatal(err)
					}
					if reply.ID() != ids.Derive(o.ID, "ORDER_COMPLETED") || c.OrderID != o.ID || c.CustomerID != cust {
						t.Fatalf("reply %s %+v", reply.ID(), c)
					}
				}
				got := db.Get(t, o.ID)
				if got.Status != tc.wantStatus || s.calls.Load() != tc.wantSettle {
					t.Fatalf("order %s, settle called %d times", got.Status, s.calls.Load())
				}
				if tc.wantStatus == orderstore.Completed && (got.Delivery == nil || got.Delivery.Status != deliverystore.Delivered) {
					t.Fatalf("delivery %+v", got.Delivery)
				}
				p, err := cat.Get(ctx, pid)
				if err != nil {
					t.Fatal(err)
				}
				wantReserved := int64(0)
				if tc.reserve && tc.wantSold == 0 {
					wantReserved = 1
				}
				if p.Sold != tc.wantSold || p.Reserved != wantReserved {
					t.Fatalf("product sold %d reserved %d stock %d", p.Sold, p.Reserved, p.Stock)
				}
			})
		}

		t.Run("unknown order is 400", func(t *testing.T) {
			f := completeorder.New()
			f.Use(db.Store, cat)
			h, err := fn.Handler(f)
			if err != nil {
				t.Fatal(err)
			}
			o := orderstore.Order{ID: ids.New()}
			if code, _ := storetest.Deliver(t, h, eventstest.Build(t, completed(o))); code != http.StatusBadRequest {
				t.Fatalf("status %d", code)
			}
		})
	})
}

// deadline is the payment deadline of an unpaid order landing while its
// stock is settled: SettleOrder first tries reconcile-orders' expiry
// cancellation, then settles.
type deadline struct {
	real      completeorder.Stock
	orders    *orderstore.Store
	cancelled orderstore.Outcome
}

func (s *deadline) SettleOrder(ctx context.Context, orderID string) (int64, error) {
	a, err := s.orders.Advance(ctx, orderID, orderstore.Change{To: orderstore.Cancelled, Reason: events.ReasonExpired,
		At: time.Now(), From: orderstore.UnpaidStates}, orderstore.AnnounceCancelled(ctx, "reconcile-orders"))
	if err != nil {
		return 0, err
	}
	s.cancelled = a.Outcome
	return s.real.SettleOrder(ctx, orderID)
}

// A DELIVERY_COMPLETED can reach an order whose PAYMENT_SUCCESS is not
// applied yet (RESERVED): its payment deadline can then cancel it at any
// moment. Once complete-order has decided to sell the stock, the deadline
// must find the order out of its reach; else the units are sold for an
// order that is cancelled, and release-stock has nothing to give back.
func TestDeadlineDuringSettlementCannotCancel(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		ctx := context.Background()
		st := newStores(t, eng)
		db, cat := st.db, st.cat
		pid := st.product(t)
		o := db.Order(t, ids.New(), pid, orderstore.Reserved)
		st.reserve(t, o.ID, pid)
		s := &deadline{real: cat, orders: db.Store}
		h := st.handler(t, s)
		if code, _ := storetest.Deliver(t, h, eventstest.Build(t, completed(o))); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		got := db.Get(t, o.ID)
		p, err := cat.Get(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if s.cancelled != orderstore.Refused || got.Status != orderstore.Completed || p.Sold != 1 || p.Stock+p.Sold != 5 {
			t.Fatalf("the deadline's cancellation: %s; order %s, product sold %d, stock %d", s.cancelled, got.Status, p.Sold, p.Stock)
		}
	})
}
