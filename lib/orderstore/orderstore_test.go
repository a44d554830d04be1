package orderstore_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/storetest"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func usd(a int64) money.Money { return money.New(a, "USD") }

// open returns a migrated store on engine e with two products in the read
// model: p1 at 10.00 USD and p2 at 2.50 USD.
func open(t testing.TB, e storetest.Engine) (*orderstore.Store, string, string) {
	t.Helper()
	ctx := context.Background()
	s, err := orderstore.Open(ctx, e.Config(t, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := ids.New(), ids.New()
	for _, p := range []orderstore.Product{
		{ID: p1, Name: "Mug", Price: usd(1000), Stock: 5, Version: 1, UpdatedAt: t0},
		{ID: p2, Name: "Tea", Price: usd(250), Stock: 9, Version: 1, UpdatedAt: t0},
	} {
		if _, err := s.ApplyProduct(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return s, p1, p2
}

func request(customer string, items ...events.Item) orderstore.PlaceRequest {
	return orderstore.PlaceRequest{
		OrderID: ids.New(), CustomerID: customer, Items: items, PaymentMethod: "pm_card_visa",
		ShippingAddress: events.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"},
		At:              t0,
	}
}

// marker builds one event per order so tests can see what reached the outbox.
func marker(o orderstore.Order) ([]event.Event, error) {
	e := event.New()
	e.SetID(ids.Derive(o.ID, string(o.Status)))
	e.SetType("TEST_" + string(o.Status))
	e.SetSource("/test")
	return []event.Event{e}, nil
}

func TestPlace(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s, p1, p2 := open(t, e)
		cust := ids.New()

		t.Run("prices from the read model", func(t *testing.T) {
			got, err := s.Place(ctx, request(cust, events.Item{ProductID: p1, Quantity: 2}, events.Item{ProductID: p2, Quantity: 3}), marker)
			if err != nil {
				t.Fatal(err)
			}
			if got.Order.Total != usd(2750) || got.Order.Items[0].UnitPrice != usd(1000) || got.Order.Items[1].Name != "Tea" {
				t.Fatalf("order = %+v", got.Order)
			}
			if len(got.Events) != 1 || got.Repeat {
				t.Fatalf("events = %d, repeat = %t", len(got.Events), got.Repeat)
			}
			read, err := s.Get(ctx, got.Order.ID)
			if err != nil {
				t.Fatal(err)
			}
			if read.Status != orderstore.Pending || len(read.History) != 1 || read.Total != usd(2750) || len(read.Items) != 2 {
				t.Fatalf("stored order = %+v", read)
			}
		})

		errCases := map[string]struct {
			setup func(t *testing.T) orderstore.PlaceRequest
			want  error
		}{
			"unknown product": {func(t *testing.T) orderstore.PlaceRequest {
				return request(cust, events.Item{ProductID: ids.New(), Quantity: 1})
			}, orderstore.ErrUnknownProduct},
			"deleted product": {func(t *testing.T) orderstore.PlaceRequest {
				id := ids.New()
				mustApply(t, s, orderstore.Product{ID: id, Name: "Gone", Price: usd(1), Stock: 3, Version: 1, UpdatedAt: t0})
				if _, err := s.DeleteProduct(ctx, id, 2, t0); err != nil {
					t.Fatal(err)
				}
				return request(cust, events.Item{ProductID: id, Quantity: 1})
			}, orderstore.ErrUnknownProduct},
			"empty cart": {func(t *testing.T) orderstore.PlaceRequest {
				return request(ids.New())
			}, orderstore.ErrEmptyCart},
			"mixed currencies": {func(t *testing.T) orderstore.PlaceRequest {
				id := ids.New()
				mustApply(t, s, orderstore.Product{ID: id, Name: "Euro", Price: money.New(100, "EUR"), Stock: 3, Version: 1, UpdatedAt: t0})
				return request(cust, events.Item{ProductID: p1, Quantity: 1}, events.Item{ProductID: id, Quantity: 1})
			}, orderstore.ErrMixedCurrency},
		}
		for name, tc := range errCases {
			t.Run(name, func(t *testing.T) {
				req := tc.setup(t)
				_, err := s.Place(ctx, req, marker)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Place = %v, want %v", err, tc.want)
				}
				if _, err := s.Get(ctx, req.OrderID); !errors.Is(err, orderstore.ErrNotFound) {
					t.Fatalf("a refused order was stored: %v", err)
				}
			})
		}

		t.Run("from the cart empties it", func(t *testing.T) {
			c := ids.New()
			if _, err := s.SetCartItem(ctx, c, p2, 4, t0); err != nil {
				t.Fatal(err)
			}
			got, err := s.Place(ctx, request(c), marker)
			if err != nil {
				t.Fatal(err)
			}
			if got.Order.Total != usd(1000) || got.Order.Items[0].Quantity != 4 {
				t.Fatalf("order = %+v", got.Order)
			}
			cart, err := s.Cart(ctx, c)
			if err != nil || len(cart.Items) != 0 || cart.Total != nil {
				t.Fatalf("cart after ordering = %+v, %v", cart, err)
			}
		})
	})
}

func mustApply(t *testing.T, s *orderstore.Store, p orderstore.Product) {
	t.Helper()
	if _, err := s.ApplyProduct(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func TestPlaceIdempotencyKey(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s, p1, _ := open(t, e)
		cust := ids.New()
		keyed := func(key, hash string) orderstore.PlaceRequest {
			r := request(cust, events.Item{ProductID: p1, Quantity: 1})
			r.IdempotencyKey, r.RequestHash = key, hash
			return r
		}
		first, err := s.Place(ctx, keyed("k1", "h1"), marker)
		if err != nil {
			t.Fatal(err)
		}
		cases := map[string]struct {
			req       orderstore.PlaceRequest
			wantErr   error
			wantOrder string
		}{
			"same key same body":    {req: keyed("k1", "h1"), wantOrder: first.Order.ID},
			"same key other body":   {req: keyed("k1", "h2"), wantErr: orderstore.ErrIdempotencyMismatch},
			"other customer's key":  {req: func() orderstore.PlaceRequest { r := keyed("k1", "h9"); r.CustomerID = ids.New(); return r }()},
			"other key places anew": {req: keyed("k2", "h1")},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				got, err := s.Place(ctx, tc.req, marker)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Place = %v, want %v", err, tc.wantErr)
				}
				if err != nil {
					return
				}
				if tc.wantOrder != "" && (got.Order.ID != tc.wantOrder || !got.Repeat || len(got.Events) != 0) {
					t.Fatalf("repeat gave order %s (repeat %t, %d events), want %s", got.Order.ID, got.Repeat, len(got.Events), tc.wantOrder)
				}
				if tc.wantOrder == "" && (got.Repeat || got.Order.ID != tc.req.OrderID) {
					t.Fatalf("expected a new order, got %s repeat=%t", got.Order.ID, got.Repeat)
				}
			})
		}

		t.Run("racing identical requests place one order", func(t *testing.T) {
			const n = 8
			var wg sync.WaitGroup
			got := make([]string, n)
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p, err := s.Place(ctx, keyed("race", "same"), marker)
					got[i], errs[i] = p.Order.ID, err
				}()
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("request %d: %v", i, errs[i])
				}
				if got[i] != got[0] {
					t.Fatalf("racing requests got orders %v", got)
				}
			}
			list, total, err := s.List(ctx, orderstore.ListQuery{CustomerID: cust, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if total != 3 || len(list) != 3 { // k1, k2 and race
				t.Fatalf("customer has %d orders, want 3", total)
			}
		})
	})
}

func TestCanMove(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		from, to orderstore.Status
		want     bool
	}{
		"reserve a pending order":             {orderstore.Pending, orderstore.Reserved, true},
		"pay a pending order (skip reserved)": {orderstore.Pending, orderstore.Paid, true},
		"pay a reserved order":                {orderstore.Reserved, orderstore.Paid, true},
		"reserve a paid order (backwards)":    {orderstore.Paid, orderstore.Reserved, false},
		"in transit straight from paid":       {orderstore.Paid, orderstore.InTransit, true},
		"shipping after in transit":           {orderstore.InTransit, orderstore.Shipping, false},
		"complete in transit":                 {orderstore.InTransit, orderstore.Completed, true},
		"cancel a paid order":                 {orderstore.Paid, orderstore.Cancelled, true},
		"cancel a shipping order":             {orderstore.Shipping, orderstore.Cancelled, false},
		"cancel a cancelled order":            {orderstore.Cancelled, orderstore.Cancelled, false},
		"pay a cancelled order":               {orderstore.Cancelled, orderstore.Paid, false},
		"cancel a completed order":            {orderstore.Completed, orderstore.Cancelled, false},
		"same state":                          {orderstore.Paid, orderstore.Paid, false},
		"unknown state":                       {orderstore.Status("LOST"), orderstore.Paid, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := orderstore.CanMove(tc.from, tc.to); got != tc.want {
				t.Fatalf("CanMove(%s, %s) = %t", tc.from, tc.to, got)
			}
		})
	}
}

func TestAdvance(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s, p1, _ := open(t, e)
		cust := ids.New()
		newOrder := func(t *testing.T, path ...orderstore.Status) string {
			t.Helper()
			p, err := s.Place(ctx, request(cust, events.Item{ProductID: p1, Quantity: 1}), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range path {
				if a, err := s.Advance(ctx, p.Order.ID, orderstore.Change{To: st, Reason: "customer_request", At: t0}, nil); err != nil || a.Outcome != orderstore.Applied {
					t.Fatalf("setup move to %s: %v %v", st, a.Outcome, err)
				}
			}
			return p.Order.ID
		}
		cases := map[string]struct {
			path       []orderstore.Status
			change     orderstore.Change
			want       orderstore.Outcome
			wantStatus orderstore.Status
			wantEvents int
		}{
			"pay pending records payment": {
				change: orderstore.Change{To: orderstore.Paid, Payment: &orderstore.Payment{ID: "pay1", Status: "SUCCEEDED"}},
				want:   orderstore.Applied, wantStatus: orderstore.Paid, wantEvents: 1,
			},
			"reserve after paid is refused": {
				path:   []orderstore.Status{orderstore.Paid},
				change: orderstore.Change{To: orderstore.Reserved}, want: orderstore.Refused, wantStatus: orderstore.Paid,
			},
			"cancel twice": {
				path:   []orderstore.Status{orderstore.Cancelled},
				change: orderstore.Change{To: orderstore.Cancelled, Reason: "out_of_stock"}, want: orderstore.AlreadyThere, wantStatus: orderstore.Cancelled,
			},
			"cancel while shipping is refused": {
				path:   []orderstore.Status{orderstore.Paid, orderstore.Shipping},
				change: orderstore.Change{To: orderstore.Cancelled, Reason: "customer_request"}, want: orderstore.Refused, wantStatus: orderstore.Shipping,
			},
			"pay a cancelled order is refused": {
				path:   []orderstore.Status{orderstore.Cancelled},
				change: orderstore.Change{To: orderstore.Paid}, want: orderstore.Refused, wantStatus: orderstore.Cancelled,
			},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				id := newOrder(t, tc.path...)
				tc.change.At = t0.Add(time.Minute)
				a, err := s.Advance(ctx, id, tc.change, marker)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if a.Outcome != tc.want || got.Status != tc.wantStatus || len(a.Events) != tc.wantEvents {
					t.Fatalf("outcome %v status %s events %d, want %v %s %d", a.Outcome, got.Status, len(a.Events), tc.want, tc.wantStatus, tc.wantEvents)
				}
				if want := walked(tc.path, tc.change, tc.want); !slices.Equal(statuses(got.History), want) {
					t.Fatalf("history = %v, want %v", statuses(got.History), want)
				}
				if tc.change.Payment != nil && (got.Payment == nil || *got.Payment != *tc.change.Payment) {
					t.Fatalf("payment = %+v", got.Payment)
				}
				if got.Status == orderstore.Cancelled && (got.CancelReason == nil || *got.CancelReason != "customer_request") {
					t.Fatalf("cancel reason changed to %v", got.CancelReason)
				}
			})
		}

		t.Run("unknown order", func(t *testing.T) {
			_, err := s.Advance(ctx, ids.New(), orderstore.Change{To: orderstore.Paid, At: t0}, nil)
			if !errors.Is(err, orderstore.ErrNotFound) {
				t.Fatalf("Advance = %v", err)
			}
		})

		t.Run("concurrent cancels apply once", func(t *testing.T) {
			id := newOrder(t, orderstore.Reserved)
			const n = 6
			applied := atOnce(t, n, func(int) (orderstore.Advanced, error) {
				return s.Advance(ctx, id, orderstore.Change{To: orderstore.Cancelled, Reason: "customer_request", At: t0}, marker)
			})
			got, err := s.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if applied != 1 || got.Status != orderstore.Cancelled || len(got.History) != 3 {
				t.Fatalf("applied %d times; history %+v", applied, got.History)
			}
		})

		// The saga's forward steps announce nothing and run without a
		// transaction (a read, then an UPDATE guarded by the version):
		// racing each other, and racing a cancellation that runs in one,
		// every state is entered once, in order, and a cancellation of an
		// unpaid order and a payment never both land.
		t.Run("concurrent steps without a transaction enter each state once", func(t *testing.T) {
			statuses := []orderstore.Status{orderstore.Reserved, orderstore.Paid, orderstore.Shipping}
			for round := range 5 {
				id := newOrder(t)
				applied := atOnce(t, 3*len(statuses), func(i int) (orderstore.Advanced, error) {
					return s.Advance(ctx, id, orderstore.Change{To: statuses[i%len(statuses)], At: t0}, nil)
				})
				got, err := s.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if applied == 0 || got.Status != orderstore.Shipping || !sameStates(got.History, orderstore.Pending, orderstore.Reserved, orderstore.Paid, orderstore.Shipping) {
					t.Fatalf("round %d: %d applied, status %s, history %+v", round, applied, got.Status, got.History)
				}
			}
		})

		t.Run("a payment racing a cancellation of an unpaid order: one of them lands", func(t *testing.T) {
			for round := range 5 {
				id := newOrder(t, orderstore.Reserved)
				applied := atOnce(t, 8, func(i int) (orderstore.Advanced, error) {
					if i%2 == 0 {
						return s.Advance(ctx, id, orderstore.Change{To: orderstore.Paid, At: t0, Payment: &orderstore.Payment{ID: "pay", Status: "SUCCEEDED"}}, nil)
					}
					return s.Advance(ctx, id, orderstore.Change{To: orderstore.Cancelled, Reason: "customer_request", At: t0,
						From: orderstore.UnpaidStates}, marker)
				})
				got, err := s.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				paid := sameStates(got.History, orderstore.Pending, orderstore.Reserved, orderstore.Paid)
				cancelled := sameStates(got.History, orderstore.Pending, orderstore.Reserved, orderstore.Cancelled)
				if applied != 1 || !(paid && got.Status == orderstore.Paid || cancelled && got.Status == orderstore.Cancelled) {
					t.Fatalf("round %d: %d applied, status %s, history %+v", round, applied, got.Status, got.History)
				}
			}
		})

		t.Run("delivery tracking is kept", func(t *testing.T) {
			id := newOrder(t, orderstore.Paid)
			d := &orderstore.Delivery{ID: "d1", Status: "COURIERED", TrackingNumber: "TN1"}
			if _, err := s.Advance(ctx, id, orderstore.Change{To: orderstore.InTransit, Delivery: d, At: t0}, nil); err != nil {
				t.Fatal(err)
			}
			late := &orderstore.Delivery{ID: "d1", Status: "STARTED"}
			a, err := s.Advance(ctx, id, orderstore.Change{To: orderstore.Shipping, Delivery: late, At: t0}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if a.Outcome != orderstore.Refused || a.Order.Delivery.Status != "COURIERED" || a.Order.Delivery.TrackingNumber != "TN1" {
				t.Fatalf("late DELIVERY_STARTED changed %+v (%v)", a.Order.Delivery, a.Outcome)
			}
		})
	})
}

func TestCancelOpen(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s, p1, _ := open(t, e)
		cust, other := ids.New(), ids.New()
		place := func(c string, path ...orderstore.Status) string {
			p, err := s.Place(ctx, request(c, events.Item{ProductID: p1, Quantity: 1}), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range path {
				if _, err := s.Advance(ctx, p.Order.ID, orderstore.Change{To: st, Reason: "out_of_stock", At: t0}, nil); err != nil {
					t.Fatal(err)
				}
			}
			return p.Order.ID
		}
		open := []string{place(cust), place(cust, orderstore.Reserved), place(cust, orderstore.Paid)}
		shipping := place(cust, orderstore.Paid, orderstore.Shipping)
		cancelled := place(cust, orderstore.Cancelled)
		theirs := place(other)

		got, err := s.CancelOpen(ctx, cust, orderstore.Change{Reason: "user_deleted", At: t0}, marker)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(open) {
			t.Fatalf("cancelled %d orders, want %d", len(got), len(open))
		}
		again, err := s.CancelOpen(ctx, cust, orderstore.Change{Reason: "user_deleted", At: t0}, marker)
		if err != nil || len(again) != 0 {
			t.Fatalf("second delivery cancelled %d more (%v)", len(again), err)
		}
		want := map[string]orderstore.Status{shipping: orderstore.Shipping, cancelled: orderstore.Cancelled, theirs: orderstore.Pending}
		for _, id := range open {
			want[id] = orderstore.Cancelled
		}
		for id, st := range want {
			o, err := s.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != st {
				t.Fatalf("order %s is %s, want %s", id, o.Status, st)
			}
		}
	})
}

func TestReadModelVersions(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s, p1, _ := open(t, e)
		steps := []struct {
			name      string
			apply     func() (bool, error)
			wantOK    bool
			wantPrice int64
			wantDel   bool
		}{
			{"newer version applies", func() (bool, error) {
				return s.ApplyProduct(ctx, orderstore.Product{ID: p1, Name: "Mug", Price: usd(1200), Stock: 5, Version: 3, UpdatedAt: t0})
			}, true, 1200, false},
			{"older version is ignored", func() (bool, error) {
				return s.ApplyProduct(ctx, orderstore.Product{ID: p1, Name: "Mug", Price: usd(900), Stock: 5, Version: 2, UpdatedAt: t0})
			}, false, 1200, false},
			{"same version is ignored", func() (bool, error) {
				return s.ApplyProduct(ctx, orderstore.Product{ID: p1, Name: "Mug", Price: usd(1), Stock: 5, Version: 3, UpdatedAt: t0})
			}, false, 1200, false},
			{"delete at the same version wins", func() (bool, error) { return s.DeleteProduct(ctx, p1, 3, t0) }, true, 1200, true},
			{"older update does not resurrect", func() (bool, error) {
				return s.ApplyProduct(ctx, orderstore.Product{ID: p1, Name: "Mug", Price: usd(5), Stock: 5, Version: 2, UpdatedAt: t0})
			}, false, 1200, true},
		}
		for _, st := range steps {
			ok, err := st.apply()
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			p, err := s.Product(ctx, p1)
			if err != nil {
				t.Fatal(err)
			}
			if ok != st.wantOK || p.Price.Amount != st.wantPrice || p.Deleted != st.wantDel {
				t.Fatalf("%s: applied=%t price=%d deleted=%t", st.name, ok, p.Price.Amount, p.Deleted)
			}
		}

		t.Run("tombstone for an unseen product blocks its older add", func(t *testing.T) {
			id := ids.New()
			if ok, err := s.DeleteProduct(ctx, id, 4, t0); err != nil || !ok {
				t.Fatalf("delete unseen = %t, %v", ok, err)
			}
			ok, err := s.ApplyProduct(ctx, orderstore.Product{ID: id, Name: "Late", Price: usd(1), Stock: 1, Version: 1, UpdatedAt: t0})
			if err != nil || ok {
				t.Fatalf("late add applied=%t err=%v", ok, err)
			}
		})

		t.Run("customers by version then time", func(t *testing.T) {
			id := ids.New()
			apply := func(name string, at time.Time) bool {
				ok, err := s.ApplyCustomer(ctx, orderstore.Customer{ID: id, Email: name + "@x.io", Name: name, UpdatedAt: at,
					Addresses: []events.Address{{ID: "a1", Line1: name, City: "C", PostalCode: "1", Country: "US"}}})
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			if !apply("first", t0) || !apply("second", t0.Add(time.Hour)) || apply("stale", t0.Add(time.Minute)) || apply("again", t0.Add(time.Hour)) {
				t.Fatal("customer versions applied in the wrong cases")
			}
			c, err := s.Customer(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if a, ok := c.Address("a1"); c.Name != "second" || !ok || a.Line1 != "second" {
				t.Fatalf("customer = %+v", c)
			}
		})
	})
}

// walked is the history an order placed and moved along path, then asked
// for change, must have: every state of the forward path it passed, in
// order, once each.
func walked(path []orderstore.Status, change orderstore.Change, outcome orderstore.Outcome) []orderstore.Status {
	forward := []orderstore.Status{orderstore.Pending, orderstore.Reserved, orderstore.Paid, orderstore.Shipping, orderstore.InTransit, orderstore.Completed}
	steps := path
	if outcome == orderstore.Applied {
		steps = append(slices.Clone(path), change.To)
	}
	out := []orderstore.Status{orderstore.Pending}
	for _, st := range steps {
		if st == orderstore.Cancelled {
			out = append(out, st)
			continue
		}
		last := slices.Index(forward, out[len(out)-1])
		for _, f := range forward[last+1 : slices.Index(forward, st)+1] {
			out = append(out, f)
		}
	}
	return out
}

func statuses(h []orderstore.HistoryEntry) []orderstore.Status {
	out := make([]orderstore.Status, len(h))
	for i, e := range h {
		out[i] = e.Status
	}
	return out
}

// An event reporting a later step (DELIVERY_STARTED before PAYMENT_SUCCESS's
// reaction) moves the order forward and records the states it proves, so
// the history never lacks PAID.
func TestForwardSkipRecordsPassedStates(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s, p1, _ := open(t, e)
		p, err := s.Place(ctx, request(ids.New(), events.Item{ProductID: p1, Quantity: 1}), nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Advance(ctx, p.Order.ID, orderstore.Change{To: orderstore.Shipping, At: t0}, nil)
		if err != nil || a.Outcome != orderstore.Applied {
			t.Fatalf("skip to SHIPPING: %v %v", a.Outcome, err)
		}
		late, err := s.Advance(ctx, p.Order.ID, orderstore.Change{To: orderstore.Paid, Payment: &orderstore.Payment{ID: "pay", Status: "SUCCEEDED"}, At: t0}, nil)
		if err != nil || late.Outcome != orderstore.Refused {
			t.Fatalf("late PAID: %v %v", late.Outcome, err)
		}
		got, err := s.Get(ctx, p.Order.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []orderstore.Status{orderstore.Pending, orderstore.Reserved, orderstore.Paid, orderstore.Shipping}
		if !slices.Equal(statuses(got.History), want) || got.Status != orderstore.Shipping {
			t.Fatalf("history %v status %s, want %v SHIPPING", statuses(got.History), got.Status, want)
		}
		if got.Payment == nil || got.Payment.ID != "pay" {
			t.Fatalf("the late payment was not recorded: %+v", got.Payment)
		}
	})
}

// TestOrderStoredBeforeItsRowHeldDetails stores an order as the schema
// before the items and history columns did (rows in order_items and
// order_history): it reads the same through Get and List, and its next
// change carries both into the row, after which the old rows no longer
// matter.
func TestOrderStoredBeforeItsRowHeldDetails(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s, p1, p2 := open(t, e)
		db := s.DB()
		id, cust := ids.New(), ids.New()
		t1 := t0.Add(time.Minute)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO orders (id, customer_id, customer_email, customer_name, status, total_amount, currency,
				shipping_address, payment_method, version, created_at, updated_at, deadline, checked_at)
				VALUES (?, ?, '', '', 'RESERVED', 1500, 'USD', '{"line1":"1 Main St","city":"Springfield","postalCode":"12345","country":"US"}',
				'pm_card_visa', 2, ?, ?, ?, ?)`, []any{id, cust, t0, t1, t0.Add(15 * time.Minute), t1}},
			{`INSERT INTO order_items (order_id, line, product_id, name, quantity, unit_amount, currency) VALUES
				(?, 1, ?, 'Mug', 1, 1000, 'USD'), (?, 2, ?, 'Tea', 2, 250, 'USD')`, []any{id, p1, id, p2}},
			{`INSERT INTO order_history (order_id, version, status, at) VALUES (?, 1, 'PENDING', ?), (?, 2, 'RESERVED', ?)`,
				[]any{id, t0, id, t1}},
		} {
			if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		check := func(t *testing.T, o orderstore.Order, history ...orderstore.Status) {
			t.Helper()
			if len(o.Items) != 2 || o.Items[0].ProductID != p1 || o.Items[1].Quantity != 2 || o.Items[1].UnitPrice != usd(250) {
				t.Errorf("items = %+v", o.Items)
			}
			if got := statuses(o.History); !slices.Equal(got, history) {
				t.Errorf("history = %v, want %v", got, history)
			}
			if !o.History[0].At.Equal(t0) || !o.History[1].At.Equal(t1) {
				t.Errorf("history times = %+v", o.History)
			}
		}
		got, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, orderstore.Pending, orderstore.Reserved)
		list, _, err := s.List(ctx, orderstore.ListQuery{CustomerID: cust, Limit: 10})
		if err != nil || len(list) != 1 {
			t.Fatalf("list = %v, %v", list, err)
		}
		check(t, list[0], orderstore.Pending, orderstore.Reserved)

		if _, err := s.Advance(ctx, id, orderstore.Change{To: orderstore.Paid, At: t1}, nil); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"order_items", "order_history"} {
			if _, err := db.ExecContext(ctx, "DELETE FROM "+table+" WHERE order_id = ?", id); err != nil {
				t.Fatal(err)
			}
		}
		got, err = s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, orderstore.Pending, orderstore.Reserved, orderstore.Paid)
	})
}

// BenchmarkGetOrder reads one order (its row, items and history), as every
// saga step that moves an order does first, among 1,000 orders that have
// each moved once.
func BenchmarkGetOrder(b *testing.B) {
	storetest.OnEachMySQL(b, func(b *testing.B, e storetest.Engine) {
		ctx := context.Background()
		s, p1, p2 := open(b, e)
		var orders []string
		for range 1000 {
			p, err := s.Place(ctx, request(ids.New(), events.Item{ProductID: p1, Quantity: 1}, events.Item{ProductID: p2, Quantity: 2}), marker)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Advance(ctx, p.Order.ID, orderstore.Change{To: orderstore.Reserved, At: t0}, marker); err != nil {
				b.Fatal(err)
			}
			orders = append(orders, p.Order.ID)
		}
		i := 0
		for b.Loop() {
			o, err := s.Get(ctx, orders[i%len(orders)])
			if err != nil {
				b.Fatal(err)
			}
			if len(o.Items) != 2 || len(o.History) != 2 {
				b.Fatalf("order = %+v", o)
			}
			i++
		}
	})
}

// BenchmarkForwardSteps measures the five forward steps of an order's
// saga as confirm-order, track-order and complete-order make them (Advance
// announcing nothing), an order per loop, placed before the timer runs.
func BenchmarkForwardSteps(b *testing.B) {
	storetest.OnEachMySQL(b, func(b *testing.B, e storetest.Engine) {
		ctx := context.Background()
		s, p1, _ := open(b, e)
		steps := []orderstore.Status{orderstore.Reserved, orderstore.Paid, orderstore.Shipping, orderstore.InTransit, orderstore.Completed}
		for b.Loop() {
			b.StopTimer()
			p, err := s.Place(ctx, request(ids.New(), events.Item{ProductID: p1, Quantity: 1}), marker)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for _, st := range steps {
				if a, err := s.Advance(ctx, p.Order.ID, orderstore.Change{To: st, At: t0}, nil); err != nil || a.Outcome != orderstore.Applied {
					b.Fatalf("%s: %v %v", st, a.Outcome, err)
				}
			}
		}
	})
}

// atOnce makes n calls of advance at once and counts those that applied.
// An error fails t, unless it says to try again (what a function answers
// to the Broker, which redelivers).
func atOnce(t *testing.T, n int, advance func(i int) (orderstore.Advanced, error)) (applied int) {
	t.Helper()
	var mu sync.Mutex
	storetest.Repeat(n, true, func(i int) {
		a, err := advance(i)
		if err != nil && !orderstore.IsRetryable(err) {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if err == nil && a.Outcome == orderstore.Applied {
			applied++
		}
	})
	return applied
}

// sameStates reports whether history entered exactly want, in order.
func sameStates(history []orderstore.HistoryEntry, want ...orderstore.Status) bool {
	if len(history) != len(want) {
		return false
	}
	for i, h := range history {
		if h.Status != want[i] {
			return false
		}
	}
	return true
}
