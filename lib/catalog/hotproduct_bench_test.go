package catalog_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/ids"
)

// BenchmarkHotProductReserveRate sells KNSHOP_HOT_UNITS (default 20,000)
// one-unit orders of one product, each reserved then settled (every tenth
// cancelled), and reports the reserve rate over the first and the last
// 1,000 orders and their ratio: a product's per-order cost must not grow
// with its sales (issue 11 asks for at least 0.8).
func BenchmarkHotProductReserveRate(b *testing.B) {
	units := 20_000
	if v, err := strconv.Atoi(os.Getenv("KNSHOP_HOT_UNITS")); err == nil && v >= 2_000 {
		units = v
	}
	for b.Loop() {
		s := newStore(b)
		p := addProduct(b, s, int64(units))
		var first, last time.Duration
		for i := range units {
			order := ids.New()
			begin := time.Now()
			h, err := s.ReserveOrder(b.Context(), order, []catalog.Item{{ProductID: p, Quantity: 1}})
			took := time.Since(begin)
			if err != nil || h.Status != catalog.StatusReserved {
				b.Fatalf("order %d: %+v, %v", i, h, err)
			}
			switch {
			case i < 1_000:
				first += took
			case i >= units-1_000:
				last += took
			}
			if i%10 == 9 {
				_, err = s.CancelOrder(b.Context(), order)
			} else {
				_, err = s.SettleOrder(b.Context(), order)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		firstRate, lastRate := 1_000/first.Seconds(), 1_000/last.Seconds()
		b.ReportMetric(firstRate, "reserves/s-first-1k")
		b.ReportMetric(lastRate, "reserves/s-last-1k")
		b.ReportMetric(lastRate/firstRate, "last/first")
	}
}

// BenchmarkHotProductInFlight is the saga's pattern on one product: each
// order is reserved, and settled once 200 later orders were reserved (the
// orders in flight while payment and delivery run), so the product always
// carries 200 reservations. It reports the whole orders (reserve + settle)
// per second the catalog sustains.
func BenchmarkHotProductInFlight(b *testing.B) {
	const inFlight = 200
	s := newStore(b)
	p := addProduct(b, s, 1_000_000)
	var queue []string
	for b.Loop() {
		order := ids.New()
		if h, err := s.ReserveOrder(b.Context(), order, []catalog.Item{{ProductID: p, Quantity: 1}}); err != nil || h.Status != catalog.StatusReserved {
			b.Fatalf("%+v, %v", h, err)
		}
		queue = append(queue, order)
		if len(queue) > inFlight {
			if _, err := s.SettleOrder(b.Context(), queue[0]); err != nil {
				b.Fatal(err)
			}
			queue = queue[1:]
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	b.ReportMetric(float64(docSize(b, s, p)), "doc-bytes")
}
