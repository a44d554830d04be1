package canceldelivery

import (
	"context"
	"testing"

	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/deliverystore/deliverystoretest"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/storetest"
)

// BenchmarkHandle measures one ORDER_CANCELLED: for an order without a
// delivery (tombstone only), for a STARTED delivery (tombstone, cancel,
// history), and a redelivery that changes nothing.
func BenchmarkHandle(b *testing.B) {
	storetest.OnEachMySQL(b, func(b *testing.B, engine storetest.Engine) {
		f := New()
		storetest.StartFunction(b, f, engine.Config(b, deliverystore.Database).Env(deliverystore.Database))
		ctx := context.Background()
		b.Run("no delivery", func(b *testing.B) {
			for b.Loop() {
				if _, err := f.Handle(ctx, deliverystoretest.Cancelled(b, ids.New(), "customer_request")); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("started delivery", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				order := ids.New()
				if _, err := deliverystoretest.Create(b, f.Opened().(*deliverystore.Store), order); err != nil {
					b.Fatal(err)
				}
				e := deliverystoretest.Cancelled(b, order, "customer_request")
				b.StartTimer()
				if _, err := f.Handle(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("redelivered", func(b *testing.B) {
			order := ids.New()
			if _, err := deliverystoretest.Create(b, f.Opened().(*deliverystore.Store), order); err != nil {
				b.Fatal(err)
			}
			e := deliverystoretest.Cancelled(b, order, "customer_request")
			for b.Loop() {
				if _, err := f.Handle(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
