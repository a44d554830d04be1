package catalog_test

import (
	"testing"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/ids"
)

// One product's steps: a reservation is taken once per order, whatever the
// token, and given back or sold once. What bars an order from reserving
// after its stock was sold or given back is the order's hold (hold_test.go).
func TestReserveStep(t *testing.T) {
	tests := map[string]struct {
		stock        int64
		qty          int64
		before       func(t *testing.T, s *catalog.Store, order, product string)
		unknown      bool
		want         string
		wantShort    int64
		wantStock    int64
		wantReserved int64
	}{
		"enough stock":      {stock: 10, qty: 3, want: "reserved", wantStock: 7, wantReserved: 3},
		"exactly the stock": {stock: 3, qty: 3, want: "reserved", wantStock: 0, wantReserved: 3},
		"short":             {stock: 2, qty: 3, want: "short", wantShort: 2, wantStock: 2},
		"duplicate counts once, under another token": {stock: 10, qty: 3,
			before: func(t *testing.T, s *catalog.Store, order, product string) { reserveStep(t, s, order, product, 3) },
			want:   "held", wantStock: 7, wantReserved: 3},
		"deleted product": {stock: 10, qty: 1,
			before: func(t *testing.T, s *catalog.Store, _, product string) { deleteProduct(t, s, product) },
			want:   "gone", wantStock: 10},
		"unknown product": {unknown: true, qty: 1, want: "gone"},
	}
	s := newStore(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			order, product := ids.New(), ids.New()
			if !tc.unknown {
				product = addProduct(t, s, tc.stock)
			}
			if tc.before != nil {
				tc.before(t, s, order, product)
			}
			got, seen, err := s.ReserveStep(t.Context(), order, product, tc.qty, ids.New())
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || seen != tc.wantShort {
				t.Fatalf("reserve = %s (stock seen %d), want %s (%d)", got, seen, tc.want, tc.wantShort)
			}
			if tc.unknown {
				return
			}
			stock, reserved, _ := counters(t, s, product)
			if stock != tc.wantStock || reserved != tc.wantReserved {
				t.Fatalf("stock %d reserved %d, want %d and %d", stock, reserved, tc.wantStock, tc.wantReserved)
			}
		})
	}
}

func TestReleaseAndSettleSteps(t *testing.T) {
	reserve := func(t *testing.T, s *catalog.Store, order, product string) { reserveStep(t, s, order, product, 4) }
	tests := map[string]struct {
		before    []step
		settle    bool
		want      int64
		wantStock int64
		wantSold  int64
	}{
		"release gives the units back":         {before: fns(reserve), want: 4, wantStock: 10},
		"release twice gives back once":        {before: fns(reserve, releaseFn), want: 0, wantStock: 10},
		"release of nothing is a no-op":        {want: 0, wantStock: 10},
		"release after a delete":               {before: fns(reserve, deleteFn), want: 4, wantStock: 10},
		"release after settle changes nothing": {before: fns(reserve, settleFn), want: 0, wantStock: 6, wantSold: 4},
		"settle sells the held units":          {before: fns(reserve), settle: true, want: 4, wantStock: 6, wantSold: 4},
		"settle twice sells once":              {before: fns(reserve, settleFn), settle: true, want: 0, wantStock: 6, wantSold: 4},
		"settle after a delete":                {before: fns(reserve, deleteFn), settle: true, want: 4, wantStock: 6, wantSold: 4},
		"settle of nothing":                    {settle: true, want: 0, wantStock: 10},
		"settle after release changes nothing": {before: fns(reserve, releaseFn), settle: true, want: 0, wantStock: 10},
	}
	s := newStore(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			order, product := ids.New(), addProduct(t, s, 10)
			for _, f := range tc.before {
				f(t, s, order, product)
			}
			op := s.ReleaseStep
			if tc.settle {
				op = s.SettleStep
			}
			got, err := op(t.Context(), order, product)
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
			stock, reserved, sold := counters(t, s, product)
			if stock != tc.wantStock || sold != tc.wantSold || reserved != 10-tc.wantStock-tc.wantSold {
				t.Fatalf("stock %d reserved %d sold %d; want stock %d sold %d", stock, reserved, sold, tc.wantStock, tc.wantSold)
			}
		})
	}
}

type step = func(t *testing.T, s *catalog.Store, order, product string)

func fns(f ...step) []step { return f }

func reserveStep(t *testing.T, s *catalog.Store, order, product string, qty int64) {
	t.Helper()
	if got, _, err := s.ReserveStep(t.Context(), order, product, qty, ids.New()); err != nil || got != "reserved" {
		t.Fatalf("reserve step: %s, %v", got, err)
	}
}

func releaseFn(t *testing.T, s *catalog.Store, order, product string) {
	if _, err := s.ReleaseStep(t.Context(), order, product); err != nil {
		t.Fatal(err)
	}
}

func settleFn(t *testing.T, s *catalog.Store, order, product string) {
	if _, err := s.SettleStep(t.Context(), order, product); err != nil {
		t.Fatal(err)
	}
}

func deleteFn(t *testing.T, s *catalog.Store, _, product string) { deleteProduct(t, s, product) }
