package catalog_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/ids"
)

func TestReserveOrder(t *testing.T) {
	tests := map[string]struct {
		stocks        []int64 // one product per entry
		qty           []int64 // what the order asks of each
		before        func(t *testing.T, s *catalog.Store, order string, products []string)
		want          catalog.Status
		wantShortages int
		wantStocks    []int64
	}{
		"every item reserved": {stocks: []int64{5, 5}, qty: []int64{2, 5}, want: catalog.StatusReserved, wantStocks: []int64{3, 0}},
		"one short gives back the others": {stocks: []int64{5, 1, 5}, qty: []int64{2, 2, 2},
			want: catalog.StatusRejected, wantShortages: 1, wantStocks: []int64{5, 1, 5}},
		"every shortage known is reported": {stocks: []int64{1, 1}, qty: []int64{2, 2},
			want: catalog.StatusRejected, wantShortages: 2, wantStocks: []int64{1, 1}},
		"a deleted product is a shortage": {stocks: []int64{5, 5}, qty: []int64{1, 1},
			before: func(t *testing.T, s *catalog.Store, _ string, products []string) { deleteProduct(t, s, products[1]) },
			want:   catalog.StatusRejected, wantShortages: 1, wantStocks: []int64{5, 5}},
		"redelivery after a crash midway completes it": {stocks: []int64{5, 5}, qty: []int64{1, 1},
			before: func(t *testing.T, s *catalog.Store, order string, products []string) {
				if _, err := catalog.BeginHold(s, t.Context(), order, items(products, []int64{1, 1})); err != nil {
					t.Fatal(err)
				}
				reserveStep(t, s, order, products[0], 1)
			},
			want: catalog.StatusReserved, wantStocks: []int64{4, 4}},
		"redelivery after a crash before the give-back finishes it": {stocks: []int64{5, 0}, qty: []int64{1, 1},
			before: func(t *testing.T, s *catalog.Store, order string, products []string) {
				if _, err := catalog.BeginHold(s, t.Context(), order, items(products, []int64{1, 1})); err != nil {
					t.Fatal(err)
				}
				reserveStep(t, s, order, products[0], 1)
				short := []catalog.Shortage{{ProductID: products[1], Requested: 1}}
				if _, err := catalog.Decide(s, t.Context(), order, catalog.StatusRejected, short); err != nil {
					t.Fatal(err)
				}
			},
			want: catalog.StatusRejected, wantShortages: 1, wantStocks: []int64{5, 0}},
		"a cancellation that came first wins": {stocks: []int64{5}, qty: []int64{1},
			before: func(t *testing.T, s *catalog.Store, order string, _ []string) {
				if _, err := s.CancelOrder(t.Context(), order); err != nil {
					t.Fatal(err)
				}
			},
			want: catalog.StatusCancelled, wantStocks: []int64{5}},
		"a second delivery gives the same answer": {stocks: []int64{5}, qty: []int64{5},
			before: func(t *testing.T, s *catalog.Store, order string, products []string) {
				h, err := s.ReserveOrder(t.Context(), order, items(products, []int64{5}))
				if err != nil || h.Status != catalog.StatusReserved {
					t.Fatalf("first delivery: %+v, %v", h, err)
				}
			},
			want: catalog.StatusReserved, wantStocks: []int64{0}},
	}
	s := newStore(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			order := ids.New()
			var products []string
			for _, n := range tc.stocks {
				products = append(products, addProduct(t, s, n))
			}
			if tc.before != nil {
				tc.before(t, s, order, products)
			}
			h, err := s.ReserveOrder(t.Context(), order, items(products, tc.qty))
			if err != nil {
				t.Fatal(err)
			}
			if h.Status != tc.want || len(h.Shortages) != tc.wantShortages {
				t.Fatalf("hold %+v, want %s with %d shortages", h, tc.want, tc.wantShortages)
			}
			for i, p := range products {
				stock, reserved, _ := counters(t, s, p)
				if stock != tc.wantStocks[i] || stock+reserved != tc.stocks[i] {
					t.Errorf("product %d: stock %d reserved %d, want stock %d of %d", i, stock, reserved, tc.wantStocks[i], tc.stocks[i])
				}
			}
		})
	}
}

func TestReserveOrderShortageNumbers(t *testing.T) {
	s := newStore(t)
	a, b := addProduct(t, s, 1), addProduct(t, s, 7)
	h, err := s.ReserveOrder(t.Context(), ids.New(), []catalog.Item{{ProductID: a, Quantity: 3}, {ProductID: b, Quantity: 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.Shortage{{ProductID: a, Requested: 3, Available: 1}}
	if fmt.Sprint(h.Shortages) != fmt.Sprint(want) {
		t.Fatalf("shortages %+v, want %+v", h.Shortages, want)
	}
}

func TestCancelAndSettleOrder(t *testing.T) {
	tests := map[string]struct {
		reserve     bool
		cancelFirst bool
		settleFirst bool
		settle      bool
		want        int64
		wantErr     error
		wantStock   int64
	}{
		"cancel gives back":            {reserve: true, want: 3, wantStock: 10},
		"cancel twice gives back once": {reserve: true, cancelFirst: true, want: 0, wantStock: 10},
		"cancel of an unknown order":   {want: 0, wantStock: 10},
		"cancel after settle":          {reserve: true, settleFirst: true, want: 0, wantStock: 7},
		"settle sells":                 {reserve: true, settle: true, want: 3, wantStock: 7},
		"settle twice sells once":      {reserve: true, settleFirst: true, settle: true, want: 0, wantStock: 7},
		"settle of an unknown order":   {settle: true, wantErr: catalog.ErrNotReserved, wantStock: 10},
		"settle after cancel":          {reserve: true, cancelFirst: true, settle: true, wantErr: catalog.ErrReleased, wantStock: 10},
	}
	s := newStore(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			order, p := ids.New(), addProduct(t, s, 10)
			if tc.reserve {
				if h, err := s.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: p, Quantity: 3}}); err != nil || h.Status != catalog.StatusReserved {
					t.Fatalf("reserve: %+v, %v", h, err)
				}
			}
			if tc.cancelFirst {
				if _, err := s.CancelOrder(t.Context(), order); err != nil {
					t.Fatal(err)
				}
			}
			if tc.settleFirst {
				if _, err := s.SettleOrder(t.Context(), order); err != nil {
					t.Fatal(err)
				}
			}
			op := s.CancelOrder
			if tc.settle {
				op = s.SettleOrder
			}
			got, err := op(t.Context(), order)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %d, %v; want %d, %v", got, err, tc.want, tc.wantErr)
			}
			if stock, _, _ := counters(t, s, p); stock != tc.wantStock {
				t.Fatalf("stock %d, want %d", stock, tc.wantStock)
			}
		})
	}
}

// TestNoOversell races 50 orders, each delivered twice at once, for 10 units
// of one product and a second product every order also wants: exactly 10
// orders get their items, every other order holds nothing, and both
// deliveries of an order agree.
func TestNoOversell(t *testing.T) {
	const orders, units = 50, 10
	s := newStore(t)
	hot, other := addProduct(t, s, units), addProduct(t, s, 1000)
	type answer struct {
		order  string
		status catalog.Status
		err    error
	}
	answers := make(chan answer, 2*orders)
	var wg sync.WaitGroup
	orderIDs := make([]string, orders)
	for i := range orderIDs {
		orderIDs[i] = ids.New()
		for range 2 {
			wg.Add(1)
			go func(order string) {
				defer wg.Done()
				h, err := s.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: hot, Quantity: 1}, {ProductID: other, Quantity: 2}})
				answers <- answer{order, h.Status, err}
			}(orderIDs[i])
		}
	}
	wg.Wait()
	close(answers)
	status := map[string]catalog.Status{}
	for a := range answers {
		if a.err != nil {
			t.Fatalf("order %s: %v", a.order, a.err)
		}
		if prev, ok := status[a.order]; ok && prev != a.status {
			t.Fatalf("order %s: deliveries answered %s and %s", a.order, prev, a.status)
		}
		status[a.order] = a.status
	}
	reservedOrders := 0
	for _, st := range status {
		if st == catalog.StatusReserved {
			reservedOrders++
		}
	}
	if reservedOrders != units {
		t.Fatalf("%d orders reserved, want %d", reservedOrders, units)
	}
	if stock, reserved, _ := counters(t, s, hot); stock != 0 || reserved != units {
		t.Fatalf("hot product: stock %d reserved %d, want 0 and %d", stock, reserved, units)
	}
	if stock, reserved, _ := counters(t, s, other); stock != 1000-2*units || reserved != 2*units {
		t.Fatalf("other product: stock %d reserved %d, want %d and %d", stock, reserved, 1000-2*units, 2*units)
	}
	// Every rejected order holds nothing: cancelling it gives back nothing.
	for order, st := range status {
		if st != catalog.StatusRejected {
			continue
		}
		if n, err := s.CancelOrder(t.Context(), order); err != nil || n != 0 {
			t.Fatalf("rejected order %s still held %d units (%v)", order, n, err)
		}
	}
}

func items(products []string, qty []int64) []catalog.Item {
	out := make([]catalog.Item, len(products))
	for i, p := range products {
		out[i] = catalog.Item{ProductID: p, Quantity: qty[i]}
	}
	return out
}
