package refundreturn

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/payment"
	"github.com/knshop/knshop/lib/payment/paymenttest"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/paymentstore/paymentstoretest"
	"github.com/knshop/knshop/lib/storetest"
)

type harness struct {
	f   *fn.Reaction[*paymentstore.Kit[*paymentstore.Store]]
	gw  *paymenttest.Counting
	sbx *payment.Sandbox
}

// start runs refund-return on a fresh payments database, its gateway a
// counting sandbox that made the charges (so it refuses over-refunds too).
func start(t *testing.T, eng storetest.Engine) harness {
	t.Helper()
	f := New()
	paymentstoretest.Start(t, f, eng.Config(t, paymentstore.Database), nil)
	sbx := payment.NewSandbox()
	gw := paymenttest.NewCounting(sbx)
	f.Opened().Gateway = gw
	return harness{f: f, gw: gw, sbx: sbx}
}

// paid records a succeeded payment of amount for a new order.
func (h harness) paid(t *testing.T, amount int64) paymentstore.Payment {
	t.Helper()
	orderID := ids.New()
	p := paymentstore.Payment{
		ID: ids.Derive(orderID, "payment"), OrderID: orderID, CustomerID: "cust-1", Amount: money.New(amount, "USD"),
		Method: "card_visa", Gateway: "sandbox", ShippingAddress: events.Address{Line1: "x", City: "y", PostalCode: "1", Country: "US"},
	}
	res, err := h.sbx.Charge(context.Background(), payment.ChargeRequest{IdempotencyKey: p.ID, Amount: p.Amount, Method: payment.TokenVisa})
	if err != nil {
		t.Fatal(err)
	}
	return paymentstoretest.Seed(t, h.f.Opened().Store, p, paymentstore.Succeeded, res.TransactionID)
}

func received(t *testing.T, orderID string, amount int64) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.ReturnReceivedData{
		ReturnID: ids.New(), OrderID: orderID, CustomerID: "cust-1", Items: []events.Item{{ProductID: ids.New(), Quantity: 1}},
		Amount: money.New(amount, "USD"), ReceivedAt: time.Now().UTC(),
	})
	return e
}

func refunded(t *testing.T, reply *event.Event) events.PaymentRefundedData {
	t.Helper()
	if reply == nil {
		t.Fatal("no reply")
	}
	var d events.PaymentRefundedData
	if err := events.Decode(*reply, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// Duplicates, concurrent or late, refund a return once and answer the same
// PAYMENT_REFUNDED, carrying the return's id and amount.
func TestRefundsAReturnOnce(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		h := start(t, eng)
		p := h.paid(t, 5000)
		e := received(t, p.OrderID, 1250)
		replies := paymentstoretest.Concurrently(t, h.f, e, 6, ErrRefundInFlight)
		first := refunded(t, replies[0])
		if first.ReturnID == "" || first.Amount != money.New(1250, "USD") || first.PaymentID != p.ID {
			t.Fatalf("PAYMENT_REFUNDED = %+v", first)
		}
		for _, r := range replies {
			if r.ID() != replies[0].ID() {
				t.Fatalf("replies differ: %s, %s", r.ID(), replies[0].ID())
			}
		}
		late, err := h.f.Handle(context.Background(), e)
		if err != nil || late.ID() != replies[0].ID() {
			t.Fatalf("late duplicate = %v, %v", late, err)
		}
		if calls, n := h.gw.Refunds(); n != 1 || calls != 1 {
			t.Fatalf("gateway refunds = %d (in %d calls), want 1", n, calls)
		}
	})
}

// Two partial returns of one order refund the sum; a third that would pass
// what was paid is refused (400: never retried) and refunds nothing.
func TestPartialRefundsNeverExceedThePayment(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		h := start(t, eng)
		p := h.paid(t, 5000)
		a := refunded(t, must(t, h, received(t, p.OrderID, 1250)))
		b := refunded(t, must(t, h, received(t, p.OrderID, 2500)))
		if a.Amount.Amount+b.Amount.Amount != 3750 || a.RefundID == b.RefundID {
			t.Fatalf("refunds %+v, %+v", a, b)
		}
		_, err := h.f.Handle(context.Background(), received(t, p.OrderID, 1251))
		if !fn.IsPermanent(err) || !errors.Is(err, paymentstore.ErrOverRefund) {
			t.Fatalf("over-refund = %v, want a permanent ErrOverRefund", err)
		}
		refunded(t, must(t, h, received(t, p.OrderID, 1250))) // exactly what is left
		if _, n := h.gw.Refunds(); n != 3 {
			t.Fatalf("%d refunds at the gateway, want 3", n)
		}
		// Returns racing for the same last units of money: one wins.
		q := h.paid(t, 1000)
		var ok int
		for _, r := range []event.Event{received(t, q.OrderID, 800), received(t, q.OrderID, 800)} {
			if _, err := h.f.Handle(context.Background(), r); err == nil {
				ok++
			}
		}
		if ok != 1 {
			t.Fatalf("%d of two 800 refunds of a 1000 payment made", ok)
		}
	})
}

func TestNothingToRefundIsPermanent(t *testing.T) {
	h := start(t, storetest.MySQLEngines(t)[0])
	if _, err := h.f.Handle(context.Background(), received(t, ids.New(), 100)); !fn.IsPermanent(err) {
		t.Fatalf("an order without a payment = %v, want permanent", err)
	}
}

// A gateway that is down leaves the refund pending and unclaimed: the
// redelivery refunds it once.
func TestGatewayDownThenUp(t *testing.T) {
	h := start(t, storetest.MySQLEngines(t)[0])
	p := h.paid(t, 2000)
	e := received(t, p.OrderID, 700)
	h.gw.Fail(payment.ErrUnavailable)
	if _, err := h.f.Handle(context.Background(), e); err == nil || fn.IsPermanent(err) {
		t.Fatalf("gateway down = %v, want a retryable error", err)
	}
	h.gw.Fail(nil)
	if d := refunded(t, must(t, h, e)); d.Amount.Amount != 700 {
		t.Fatalf("refund %+v", d)
	}
	if _, n := h.gw.Refunds(); n != 1 {
		t.Fatalf("%d refunds", n)
	}
}

func must(t *testing.T, h harness, e event.Event) *event.Event {
	t.Helper()
	r, err := h.f.Handle(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestStripeRefundsAReturnInPart: with the Stripe gateway (stripe-mock), a
// return's refund goes out as a partial refund of its amount and comes back
// with a Stripe refund id.
func TestStripeRefundsAReturnInPart(t *testing.T) {
	base := paymenttest.StripeMock(t)
	f := New()
	paymentstoretest.Start(t, f, storetest.MySQL(t, paymentstore.Database), map[string]string{"PAYMENT_GATEWAY": "stripe",
		"STRIPE_API_KEY": "sk_test_123", "STRIPE_API_BASE": base})
	gw := paymenttest.NewCounting(f.Opened().Gateway)
	f.Opened().Gateway = gw
	orderID := ids.New()
	p := paymentstoretest.Seed(t, f.Opened().Store, paymentstore.Payment{
		ID: ids.Derive(orderID, "payment"), OrderID: orderID, CustomerID: "cust-1", Amount: money.New(5000, "USD"),
		Method: "card_visa", Gateway: "stripe", ShippingAddress: events.Address{Line1: "x", City: "y", PostalCode: "1", Country: "US"},
	}, paymentstore.Succeeded, "pi_123")
	reply := refunded(t, must(t, harness{f: f, gw: gw}, received(t, p.OrderID, 1250)))
	if reply.Amount != money.New(1250, "USD") || len(reply.RefundID) < 4 || reply.RefundID[:3] != "re_" || reply.ReturnID == "" {
		t.Fatalf("PAYMENT_REFUNDED = %+v; want 12.50 with a Stripe refund id", reply)
	}
	if calls, _ := gw.Refunds(); calls != 1 {
		t.Fatalf("%d refund calls", calls)
	}
}
