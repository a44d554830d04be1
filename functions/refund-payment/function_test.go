package refundpayment

import (
	"context"
	"errors"
	"net/http"
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
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

// flaky fails the next MarkRefunded, as a crash between the refund and
// its record would.
type flaky struct {
	store
	fail bool
}

var errCrash = errors.New("simulated crash")

func (f *flaky) MarkRefunded(ctx context.Context, id, refundID string, reply event.Event) (paymentstore.Payment, error) {
	if f.fail {
		f.fail = false
		return paymentstore.Payment{}, errCrash
	}
	return f.store.MarkRefunded(ctx, id, refundID, reply)
}

type harness struct {
	f  *fn.Reaction[*paymentstore.Kit[store]]
	gw *paymenttest.Counting
}

// db is the payments database the function opened.
func (h harness) db() *paymentstore.Store { return h.f.Opened().Store.(*paymentstore.Store) }

func start(t *testing.T, sc sqlstore.Config) harness {
	t.Helper()
	f := New()
	paymentstoretest.Start(t, f, sc, nil)
	gw := paymenttest.NewCounting(f.Opened().Gateway)
	f.Opened().Gateway = gw
	return harness{f: f, gw: gw}
}

// paid records a payment for a new order and settles it to status, the
// way charge-payment does, charging a sandbox for a real transaction id.
func (h harness) paid(t *testing.T, status paymentstore.Status) paymentstore.Payment {
	t.Helper()
	orderID := ids.New()
	p := paymentstore.Payment{
		ID: ids.Derive(orderID, "payment"), OrderID: orderID, CustomerID: "cust-1", Amount: money.New(1500, "USD"),
		Method: "card_visa", Gateway: "sandbox", ShippingAddress: events.Address{Line1: "x", City: "y", PostalCode: "1", Country: "US"},
	}
	var tx string
	if status != paymentstore.Pending {
		res, err := payment.NewSandbox().Charge(context.Background(), payment.ChargeRequest{IdempotencyKey: p.ID, Amount: p.Amount, Method: payment.TokenVisa})
		if err != nil {
			t.Fatal(err)
		}
		tx = res.TransactionID
	}
	return paymentstoretest.Seed(t, h.f.Opened().Store.(*paymentstore.Store), p, status, tx)
}

func cancelled(t *testing.T, orderID string) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.OrderCancelledData{
		OrderID: orderID, CustomerID: "cust-1", Reason: events.ReasonCustomerRequest, CancelledAt: time.Now().UTC(),
	})
	return e
}

func TestRefundOnce(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		ctx := context.Background()
		t.Run("captured payment is refunded once, redelivery answers the same", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database))
			p := h.paid(t, paymentstore.Succeeded)
			e := cancelled(t, p.OrderID)
			first, err := h.f.Handle(ctx, e)
			if err != nil || first == nil || first.Type() != string(events.PaymentRefunded) {
				t.Fatalf("Handle = %v, %v; want PAYMENT_REFUNDED", first, err)
			}
			var d events.PaymentRefundedData
			if err := events.Decode(*first, &d); err != nil {
				t.Fatal(err)
			}
			if d.PaymentID != p.ID || d.Amount != p.Amount || d.RefundID == "" || first.ID() != paymentstore.EventID(p.ID, events.PaymentRefunded) {
				t.Fatalf("PAYMENT_REFUNDED = %+v id %s", d, first.ID())
			}
			again, err := h.f.Handle(ctx, e)
			if err != nil || again == nil || again.ID() != first.ID() {
				t.Fatalf("redelivery = %v, %v; want %s", again, err, first.ID())
			}
			stored, err := h.db().Get(ctx, p.ID)
			if err != nil || stored.Status != paymentstore.Refunded || stored.RefundID != d.RefundID {
				t.Fatalf("payment = %+v, %v", stored, err)
			}
			if calls, refunds := h.gw.Refunds(); calls != 1 || refunds != 1 {
				t.Fatalf("refund calls %d, refunds %d; want 1, 1", calls, refunds)
			}
		})
		t.Run("concurrent deliveries refund once and agree", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database))
			p := h.paid(t, paymentstore.Succeeded)
			e := cancelled(t, p.OrderID)
			replies := paymentstoretest.Concurrently(t, h.f, e, 6, ErrRefundInFlight)
			for i, r := range replies {
				if r == nil || r.ID() != replies[0].ID() {
					t.Fatalf("reply %d = %v, want the same as reply 0", i, r)
				}
			}
			if calls, refunds := h.gw.Refunds(); calls != 1 || refunds != 1 {
				t.Fatalf("refund calls %d, refunds %d; want 1, 1", calls, refunds)
			}
		})
		t.Run("cancel before any payment leaves a tombstone", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database))
			orderID := ids.New()
			for range 2 {
				if r, err := h.f.Handle(ctx, cancelled(t, orderID)); err != nil || r != nil {
					t.Fatalf("Handle = %v, %v; want acknowledged", r, err)
				}
			}
			p := paymentstore.Payment{ID: ids.Derive(orderID, "payment"), OrderID: orderID, Amount: money.New(1, "USD"), Method: "card_visa", Gateway: "sandbox"}
			added, err := paymentstore.AddedEvent(ctx, "charge-payment", p)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := h.db().Create(ctx, p, added); !errors.Is(err, paymentstore.ErrOrderCancelled) {
				t.Fatalf("a later charge's Create = %v, want ErrOrderCancelled", err)
			}
			if calls, _ := h.gw.Refunds(); calls != 0 {
				t.Fatalf("%d refund calls, want 0", calls)
			}
		})
		t.Run("failed payment: nothing to refund", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database))
			p := h.paid(t, paymentstore.Failed)
			if r, err := h.f.Handle(ctx, cancelled(t, p.OrderID)); err != nil || r != nil {
				t.Fatalf("Handle = %v, %v; want acknowledged without reply", r, err)
			}
			if calls, _ := h.gw.Refunds(); calls != 0 {
				t.Fatalf("%d refund calls, want 0", calls)
			}
		})
		t.Run("pending charge: retry later", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database))
			p := h.paid(t, paymentstore.Pending)
			if _, err := h.f.Handle(ctx, cancelled(t, p.OrderID)); !errors.Is(err, ErrChargeInFlight) || fn.IsPermanent(err) {
				t.Fatalf("Handle = %v, want a retryable ErrChargeInFlight", err)
			}
		})
		t.Run("gateway down: retryable, refunded after recovery", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database))
			p := h.paid(t, paymentstore.Succeeded)
			h.gw.Fail(payment.ErrUnavailable)
			e := cancelled(t, p.OrderID)
			if _, err := h.f.Handle(ctx, e); !errors.Is(err, payment.ErrUnavailable) || fn.IsPermanent(err) {
				t.Fatalf("Handle = %v, want retryable ErrUnavailable", err)
			}
			h.gw.Fail(nil)
			if r, err := h.f.Handle(ctx, e); err != nil || r == nil || r.Type() != string(events.PaymentRefunded) {
				t.Fatalf("after recovery = %v, %v", r, err)
			}
		})
		t.Run("crash after the refund: redelivery records the same refund", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database))
			p := h.paid(t, paymentstore.Succeeded)
			h.f.Opened().Store = &flaky{store: h.f.Opened().Store, fail: true}
			e := cancelled(t, p.OrderID)
			if _, err := h.f.Handle(ctx, e); !errors.Is(err, errCrash) {
				t.Fatalf("Handle = %v, want the crash", err)
			}
			r, err := h.f.Handle(ctx, e)
			if err != nil || r == nil || r.Type() != string(events.PaymentRefunded) {
				t.Fatalf("redelivery = %v, %v", r, err)
			}
			if _, refunds := h.gw.Refunds(); refunds != 1 {
				t.Fatalf("%d refunds, want 1", refunds)
			}
		})
	})
}

func TestStatusMapping(t *testing.T) {
	h := start(t, storetest.MySQL(t, paymentstore.Database))
	handler, err := fn.Handler(h.f)
	if err != nil {
		t.Fatal(err)
	}
	p := h.paid(t, paymentstore.Succeeded)
	pending := h.paid(t, paymentstore.Pending)
	bad := cancelled(t, ids.New())
	if err := bad.SetData(event.ApplicationJSON, map[string]any{"orderId": "o", "reason": "bored"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		e          event.Event
		wantStatus int
		wantType   string
	}{
		{"cancelled paid order is refunded", cancelled(t, p.OrderID), http.StatusOK, string(events.PaymentRefunded)},
		{"order without payment is acknowledged", cancelled(t, ids.New()), http.StatusNoContent, ""},
		{"pending charge is retried", cancelled(t, pending.OrderID), http.StatusInternalServerError, ""},
		{"invalid event is not retried", bad, http.StatusBadRequest, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, reply := storetest.Deliver(t, handler, tc.e)
			var typ string
			if reply != nil {
				typ = reply.Type()
			}
			if status != tc.wantStatus || typ != tc.wantType {
				t.Fatalf("status %d type %q, want %d %q", status, typ, tc.wantStatus, tc.wantType)
			}
		})
	}
}

// TestStripeGatewayWiring refunds through PAYMENT_GATEWAY=stripe against
// stripe-mock.
func TestStripeGatewayWiring(t *testing.T) {
	base := paymenttest.StripeMock(t)
	f := New()
	paymentstoretest.Start(t, f, storetest.MySQL(t, paymentstore.Database), map[string]string{"PAYMENT_GATEWAY": "stripe",
		"STRIPE_API_KEY": "sk_test_123", "STRIPE_API_BASE": base})
	h := harness{f: f}
	p := h.paid(t, paymentstore.Succeeded)
	reply, err := f.Handle(context.Background(), cancelled(t, p.OrderID))
	if err != nil || reply == nil || reply.Type() != string(events.PaymentRefunded) {
		t.Fatalf("Handle = %v, %v; want PAYMENT_REFUNDED", reply, err)
	}
	stored, err := f.Opened().Store.(*paymentstore.Store).Get(context.Background(), p.ID)
	if err != nil || stored.Status != paymentstore.Refunded || len(stored.RefundID) < 4 || stored.RefundID[:3] != "re_" {
		t.Fatalf("payment = %+v, %v; want REFUNDED with a Stripe refund id", stored, err)
	}
}
