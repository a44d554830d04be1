package chargepayment

import (
	"context"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/payment"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/storetest"
)

// BenchmarkCharge measures one STOCK_RESERVED handled end to end (payment
// row, PAYMENT_ADDED through the outbox to a sink, sandbox charge, settled
// reply) and one redelivery answered from the stored reply, per engine.
func BenchmarkCharge(b *testing.B) {
	for _, engine := range storetest.MySQLEngines(b) {
		b.Run(engine.Name+"/first delivery", func(b *testing.B) {
			h := startBench(b, engine)
			ctx := context.Background()
			for b.Loop() {
				if _, err := h.f.Handle(ctx, reserved(b, ids.New(), payment.TokenVisa)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(engine.Name+"/redelivery", func(b *testing.B) {
			h := startBench(b, engine)
			ctx := context.Background()
			e := reserved(b, ids.New(), payment.TokenVisa)
			if _, err := h.f.Handle(ctx, e); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := h.f.Handle(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func startBench(b *testing.B, engine storetest.Engine) harness {
	b.Helper()
	return start(b, engine.Config(b, paymentstore.Database), time.Minute)
}
