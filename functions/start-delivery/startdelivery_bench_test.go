package startdelivery

import (
	"context"
	"testing"

	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/deliverystore/deliverystoretest"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/storetest"
)

// BenchmarkHandle measures one PAYMENT_SUCCESS: a new delivery (new order
// each time) and a redelivery answered from the stored reply.
func BenchmarkHandle(b *testing.B) {
	storetest.OnEachMySQL(b, func(b *testing.B, engine storetest.Engine) {
		f := New()
		storetest.StartFunction(b, f, engine.Config(b, deliverystore.Database).Env(deliverystore.Database))
		ctx := context.Background()
		b.Run("new", func(b *testing.B) {
			for b.Loop() {
				if _, err := f.Handle(ctx, deliverystoretest.Paid(b, ids.New(), &deliverystoretest.Address)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("redelivered", func(b *testing.B) {
			e := deliverystoretest.Paid(b, ids.New(), &deliverystoretest.Address)
			if _, err := f.Handle(ctx, e); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := f.Handle(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
