package catalog_test

import (
	"fmt"
	"testing"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/ids"
)

// BenchmarkReserveOrder measures ReserveOrder (hold record, conditional
// reservation, decision) for one-item orders: all on one hot product, or
// spread over many products. Report reservations/s.
func BenchmarkReserveOrder(b *testing.B) {
	benchReservations(b, func(s *catalog.Store, product string) error {
		h, err := s.ReserveOrder(b.Context(), ids.New(), []catalog.Item{{ProductID: product, Quantity: 1}})
		if err == nil && h.Status != catalog.StatusReserved {
			err = fmt.Errorf("%+v", h)
		}
		return err
	})
}

// BenchmarkReserve measures the bare conditional update of one product.
func BenchmarkReserve(b *testing.B) {
	benchReservations(b, func(s *catalog.Store, product string) error {
		r, _, err := s.ReserveStep(b.Context(), ids.New(), product, 1, ids.New())
		if err == nil && r != "reserved" {
			err = fmt.Errorf("%s", r)
		}
		return err
	})
}

// benchReservations runs reserve, one reservation of one unit a loop, on
// one hot product and spread over 1,000 products, and reports
// reservations/s.
func benchReservations(b *testing.B, reserve func(s *catalog.Store, product string) error) {
	cases := map[string]int{"one hot product": 1, "1000 products": 1000}
	for name, products := range cases {
		b.Run(name, func(b *testing.B) {
			s, ps := benchProducts(b, products)
			i := 0
			for b.Loop() {
				if err := reserve(s, ps[i%products]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
		})
	}
}

// benchProducts is a fresh catalog with n products of a million units.
func benchProducts(b *testing.B, n int) (*catalog.Store, []string) {
	s := newStore(b)
	ps := make([]string, n)
	for i := range ps {
		ps[i] = addProduct(b, s, 1_000_000)
	}
	return s, ps
}
