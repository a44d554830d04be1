package e2e

import (
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPlaceOrder measures orders placed per second through the
// gateway: HTTP, pricing from the read model, the order, its history and
// ORDER_PLACED written in one transaction, then published. The saga runs
// behind it as it would.
func BenchmarkPlaceOrder(b *testing.B) {
	s := startShop(b, map[string]string{"LOG_LEVEL": "error"})
	_, customer, product := s.market("bench.test", "bulk", 100, 1_000_000)
	placeEventually(b, s, customer, product, 1, "pm_card_visa")
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.order(customer, product, 1, "pm_card_visa")
			n.Add(1)
		}
	})
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkOrderToPaid measures the time from POST /api/orders to the order
// reading PAID, through the local Broker: reserve-stock, charge-payment and
// confirm-order each a hop through Kafka.
func BenchmarkOrderToPaid(b *testing.B) {
	s := startShop(b, map[string]string{"LOG_LEVEL": "error"}, "start-delivery")
	_, customer, product := s.market("bench.test", "bulk", 100, 1_000_000)
	placeEventually(b, s, customer, product, 1, "pm_card_visa")
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		begin := time.Now()
		id := s.order(customer, product, 1, "pm_card_visa")
		s.waitOrderEvery(customer, id, "PAID", 2*time.Millisecond)
		durations = append(durations, time.Since(begin))
	}
	b.StopTimer()
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	pct := func(p float64) time.Duration { return durations[int(p*float64(len(durations)-1))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.Logf("%s", fmt.Sprintf("order → PAID over %d orders: p50 %v, p99 %v", len(durations), pct(0.5), pct(0.99)))
}
