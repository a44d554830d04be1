package orderstore_test

import (
	"context"
	"testing"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/storetest"
)

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
