package catalog_test

import (
	"errors"
	"testing"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/ids"
)

func TestReserve(t *testing.T) {
	tests := map[string]struct {
		stock        int64
		qty          int64
		before       func(t *testing.T, s *catalog.Store, order, product string)
		unknown      bool
		want         catalog.Reservation
		wantStock    int64
		wantReserved int64
	}{
		"enough stock":      {stock: 10, qty: 3, want: catalog.Reservation{Outcome: catalog.Reserved, Quantity: 3}, wantStock: 7, wantReserved: 3},
		"exactly the stock": {stock: 3, qty: 3, want: catalog.Reservation{Outcome: catalog.Reserved, Quantity: 3}, wantStock: 0, wantReserved: 3},
		"short":             {stock: 2, qty: 3, want: catalog.Reservation{Outcome: catalog.Short, Available: 2}, wantStock: 2},
		"duplicate counts once": {stock: 10, qty: 3,
			before: func(t *testing.T, s *catalog.Store, order, product string) {
				if _, err := s.Reserve(t.Context(), order, product, 3); err != nil {
					t.Fatal(err)
				}
			},
			want: catalog.Reservation{Outcome: catalog.Held, Quantity: 3}, wantStock: 7, wantReserved: 3},
		"after release the order cannot reserve again": {stock: 10, qty: 3,
			before: func(t *testing.T, s *catalog.Store, order, product string) {
				if _, err := s.Reserve(t.Context(), order, product, 3); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Release(t.Context(), order, product); err != nil {
					t.Fatal(err)
				}
			},
			want: catalog.Reservation{Outcome: catalog.Revoked}, wantStock: 10},
		"release of nothing bars a late reservation": {stock: 10, qty: 1,
			before: func(t *testing.T, s *catalog.Store, order, product string) {
				if _, err := s.Release(t.Context(), order, product); err != nil {
					t.Fatal(err)
				}
			},
			want: catalog.Reservation{Outcome: catalog.Revoked}, wantStock: 10},
		"after settle it is still held": {stock: 10, qty: 2,
			before: func(t *testing.T, s *catalog.Store, order, product string) {
				if _, err := s.Reserve(t.Context(), order, product, 2); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Settle(t.Context(), order, product); err != nil {
					t.Fatal(err)
				}
			},
			want: catalog.Reservation{Outcome: catalog.Held, Quantity: 2}, wantStock: 8},
		"deleted product": {stock: 10, qty: 1,
			before: func(t *testing.T, s *catalog.Store, _, product string) { deleteProduct(t, s, product) },
			want:   catalog.Reservation{Outcome: catalog.Gone}, wantStock: 10},
		"unknown product": {unknown: true, qty: 1, want: catalog.Reservation{Outcome: catalog.Gone}},
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
			got, err := s.Reserve(t.Context(), order, product, tc.qty)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Reserve = %+v, want %+v", got, tc.want)
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

func TestReserveRejectsIDsThatAreNotFieldNames(t *testing.T) {
	s := newStore(t)
	product := addProduct(t, s, 5)
	for _, order := range []string{"a.b", "$where", "", "x y"} {
		t.Run(order, func(t *testing.T) {
			if _, err := s.Reserve(t.Context(), order, product, 1); !errors.Is(err, catalog.ErrInvalidID) {
				t.Fatalf("err = %v, want ErrInvalidID", err)
			}
			if _, err := s.Release(t.Context(), order, product); !errors.Is(err, catalog.ErrInvalidID) {
				t.Fatalf("release err = %v, want ErrInvalidID", err)
			}
		})
	}
	if stock, reserved, _ := counters(t, s, product); stock != 5 || reserved != 0 {
		t.Fatalf("stock %d reserved %d after rejected ids", stock, reserved)
	}
}

func TestReleaseAndSettle(t *testing.T) {
	reserve := func(t *testing.T, s *catalog.Store, order, product string) {
		if _, err := s.Reserve(t.Context(), order, product, 4); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]struct {
		before    []func(t *testing.T, s *catalog.Store, order, product string)
		settle    bool
		want      int64
		wantErr   error
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
		"settle of nothing":                    {settle: true, wantErr: catalog.ErrNotReserved, wantStock: 10},
		"settle after release":                 {before: fns(reserve, releaseFn), settle: true, wantErr: catalog.ErrReleased, wantStock: 10},
	}
	s := newStore(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			order, product := ids.New(), addProduct(t, s, 10)
			for _, f := range tc.before {
				f(t, s, order, product)
			}
			op := s.Release
			if tc.settle {
				op = s.Settle
			}
			got, err := op(t.Context(), order, product)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Fatalf("got %d, %v; want %d, %v", got, err, tc.want, tc.wantErr)
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

func releaseFn(t *testing.T, s *catalog.Store, order, product string) {
	if _, err := s.Release(t.Context(), order, product); err != nil {
		t.Fatal(err)
	}
}

func settleFn(t *testing.T, s *catalog.Store, order, product string) {
	if _, err := s.Settle(t.Context(), order, product); err != nil {
		t.Fatal(err)
	}
}

func deleteFn(t *testing.T, s *catalog.Store, _, product string) { deleteProduct(t, s, product) }
