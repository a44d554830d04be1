package chargepayment

import (
	"context"
	"errors"
	"net/http"
	"sync"
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

// flaky fails the next Settle (and, with alsoRelease, the Release that
// follows), as a crash between the charge and its record would.
type flaky struct {
	store
	mu          sync.Mutex
	failSettle  int
	failRelease int
}

var errCrash = errors.New("simulated crash")

func (f *flaky) Settle(ctx context.Context, id string, o paymentstore.Settlement) (paymentstore.Payment, error) {
	f.mu.Lock()
	fail := f.failSettle > 0
	f.failSettle--
	f.mu.Unlock()
	if fail {
		return paymentstore.Payment{}, errCrash
	}
	return f.store.Settle(ctx, id, o)
}

func (f *flaky) Release(ctx context.Context, id, tx string) error {
	f.mu.Lock()
	fail := f.failRelease > 0
	f.failRelease--
	f.mu.Unlock()
	if fail {
		return errCrash
	}
	return f.store.Release(ctx, id, tx)
}

type harness struct {
	f    *fn.Reaction[*paymentstore.Kit[store]]
	gw   *paymenttest.Counting
	sink *storetest.EventRecorder
}

// db is the payments database the function opened.
func (h harness) db() *paymentstore.Store { return h.f.Opened().Store.(*paymentstore.Store) }

func start(t testing.TB, sc sqlstore.Config, claim time.Duration) harness {
	t.Helper()
	f := New()
	rec := paymentstoretest.Start(t, f, sc, map[string]string{"PAYMENT_CLAIM_TTL": claim.String()})
	gw := paymenttest.NewCounting(f.Opened().Gateway)
	f.Opened().Gateway = gw
	return harness{f: f, gw: gw, sink: rec}
}

var address = events.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"}

func reserved(t testing.TB, orderID, token string) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.StockReservedData{
		OrderID: orderID, CustomerID: "cust-1", Items: []events.Item{{ProductID: "p1", Quantity: 2}},
		Total: money.New(3998, "USD"), PaymentMethod: token, ShippingAddress: address,
	})
	return e
}

func ofType(evs []event.Event, typ events.Type) int {
	n := 0
	for _, e := range evs {
		if e.Type() == string(typ) {
			n++
		}
	}
	return n
}

func TestChargeOutcomes(t *testing.T) {
	h := start(t, storetest.MySQL(t, paymentstore.Database), time.Minute)
	ctx := context.Background()
	cases := map[string]struct {
		token    string
		wantType events.Type
		wantCode string
	}{
		"visa pays":                {payment.TokenVisa, events.PaymentSuccess, ""},
		"declined card fails":      {payment.TokenDeclined, events.PaymentFailure, payment.CodeCardDeclined},
		"insufficient funds fails": {payment.TokenInsufficientFunds, events.PaymentFailure, payment.CodeInsufficientFunds},
		"unknown method fails":     {"pm_card_nonsense", events.PaymentFailure, payment.CodeInvalidPaymentMethod},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			orderID := ids.New()
			reply, err := h.f.Handle(ctx, reserved(t, orderID, tc.token))
			if err != nil {
				t.Fatal(err)
			}
			if reply == nil || reply.Type() != string(tc.wantType) {
				t.Fatalf("reply = %v, want %s", reply, tc.wantType)
			}
			paymentID := ids.Derive(orderID, "payment")
			if reply.ID() != paymentstore.EventID(paymentID, tc.wantType) || reply.Source() != "/knshop/charge-payment" {
				t.Fatalf("reply id %s source %s", reply.ID(), reply.Source())
			}
			p, err := h.db().Get(ctx, paymentID)
			if err != nil {
				t.Fatal(err)
			}
			switch tc.wantType {
			case events.PaymentSuccess:
				var d events.PaymentSuccessData
				if err := events.Decode(*reply, &d); err != nil {
					t.Fatal(err)
				}
				if d.ShippingAddress == nil || *d.ShippingAddress != address || d.CustomerID != "cust-1" || d.TransactionID == "" || d.Amount != money.New(3998, "USD") {
					t.Fatalf("PAYMENT_SUCCESS data = %+v", d)
				}
				if p.Status != paymentstore.Succeeded || p.TransactionID != d.TransactionID {
					t.Fatalf("payment = %s %s", p.Status, p.TransactionID)
				}
			case events.PaymentFailure:
				var d events.PaymentFailureData
				if err := events.Decode(*reply, &d); err != nil {
					t.Fatal(err)
				}
				if d.Code != tc.wantCode || d.CustomerID != "cust-1" || p.Status != paymentstore.Failed || p.FailureCode != tc.wantCode {
					t.Fatalf("PAYMENT_FAILURE data = %+v, payment %s %s", d, p.Status, p.FailureCode)
				}
			}
			if p.Method != payment.Describe(tc.token) {
				t.Fatalf("stored method %q, want only %q", p.Method, payment.Describe(tc.token))
			}
		})
	}
	t.Run("each payment announced once with PAYMENT_ADDED", func(t *testing.T) {
		evs := h.sink.WaitFor(t, len(cases), 5*time.Second)
		if n := ofType(evs, events.PaymentAdded); n != len(cases) {
			t.Fatalf("%d PAYMENT_ADDED for %d payments", n, len(cases))
		}
	})
	t.Run("processing charge waits for its webhook, then redelivery answers the webhook's event", func(t *testing.T) {
		orderID := ids.New()
		reply, err := h.f.Handle(ctx, reserved(t, orderID, payment.TokenAuthenticationRequired))
		if err != nil || reply != nil {
			t.Fatalf("Handle = %v, %v; want no reply yet", reply, err)
		}
		p, err := h.db().Get(ctx, ids.Derive(orderID, "payment"))
		if err != nil || p.Status != paymentstore.Pending || p.TransactionID == "" {
			t.Fatalf("payment = %+v, %v; want PENDING with its transaction", p, err)
		}
		res, err := h.db().ApplyWebhook(ctx, paymentstore.WebhookChange{
			Gateway: "sandbox", EventID: "evt-" + orderID, TransactionID: p.TransactionID,
			Outcome: paymentstore.Settlement{Status: paymentstore.Succeeded},
			Build: func(p paymentstore.Payment) (event.Event, error) {
				return paymentstore.ChargeReply(ctx, "payments", p, time.Now())
			},
		})
		if err != nil || res != paymentstore.Applied {
			t.Fatalf("ApplyWebhook = %s, %v", res, err)
		}
		reply, err = h.f.Handle(ctx, reserved(t, orderID, payment.TokenAuthenticationRequired))
		if err != nil || reply == nil || reply.Type() != string(events.PaymentSuccess) || reply.Source() != "/knshop/payments" {
			t.Fatalf("redelivery after the webhook = %v, %v; want the webhook's PAYMENT_SUCCESS", reply, err)
		}
	})
}

// TestOneChargePerOrder attacks the charge with the deliveries a Kafka
// Broker can make: twice in a row, many at once, after a crash.
func TestOneChargePerOrder(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		ctx := context.Background()
		t.Run("redelivery answers the same reply without charging", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database), time.Minute)
			e := reserved(t, ids.New(), payment.TokenVisa)
			first, err := h.f.Handle(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				again, err := h.f.Handle(ctx, e)
				if err != nil || again == nil || again.ID() != first.ID() || string(again.Data()) != string(first.Data()) {
					t.Fatalf("redelivery = %v, %v; want the first reply %s", again, err, first.ID())
				}
			}
			if calls, taken := h.gw.Charges(); calls != 1 || taken != 1 {
				t.Fatalf("gateway calls %d, charges %d; want 1, 1", calls, taken)
			}
			if n := ofType(h.sink.WaitFor(t, 1, 5*time.Second), events.PaymentAdded); n != 1 {
				t.Fatalf("%d PAYMENT_ADDED, want 1", n)
			}
		})
		t.Run("concurrent deliveries charge once and agree", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database), time.Minute)
			e := reserved(t, ids.New(), payment.TokenVisa)
			// A delivery refused as in flight is retried, as the Broker does.
			replies := paymentstoretest.Concurrently(t, h.f, e, 8, ErrChargeInFlight)
			for i, r := range replies {
				if r == nil || r.ID() != replies[0].ID() || r.Type() != string(events.PaymentSuccess) {
					t.Fatalf("reply %d = %v, want the same PAYMENT_SUCCESS as reply 0", i, r)
				}
			}
			if calls, taken := h.gw.Charges(); calls != 1 || taken != 1 {
				t.Fatalf("gateway calls %d, charges %d; want 1, 1", calls, taken)
			}
			time.Sleep(100 * time.Millisecond)
			if got := ofType(h.sink.Events(), events.PaymentAdded); got != 1 {
				t.Fatalf("%d PAYMENT_ADDED, want 1", got)
			}
		})
		t.Run("crash after the charge: redelivery answers success without a second charge", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database), time.Minute)
			fl := &flaky{store: h.f.Opened().Store, failSettle: 1}
			h.f.Opened().Store = fl
			e := reserved(t, ids.New(), payment.TokenVisa)
			if _, err := h.f.Handle(ctx, e); !errors.Is(err, errCrash) || fn.IsPermanent(err) {
				t.Fatalf("Handle with the store failing = %v, want a retryable error", err)
			}
			reply, err := h.f.Handle(ctx, e)
			if err != nil || reply == nil || reply.Type() != string(events.PaymentSuccess) {
				t.Fatalf("redelivery = %v, %v; want PAYMENT_SUCCESS", reply, err)
			}
			if _, taken := h.gw.Charges(); taken != 1 {
				t.Fatalf("%d charges, want 1", taken)
			}
		})
		t.Run("crash that keeps the claim: redelivery waits for it to lapse", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database), 300*time.Millisecond)
			fl := &flaky{store: h.f.Opened().Store, failSettle: 1, failRelease: 1}
			h.f.Opened().Store = fl
			e := reserved(t, ids.New(), payment.TokenVisa)
			if _, err := h.f.Handle(ctx, e); !errors.Is(err, errCrash) {
				t.Fatalf("Handle = %v, want the crash", err)
			}
			if _, err := h.f.Handle(ctx, e); !errors.Is(err, ErrChargeInFlight) {
				t.Fatalf("redelivery within the claim = %v, want ErrChargeInFlight", err)
			}
			time.Sleep(400 * time.Millisecond)
			reply, err := h.f.Handle(ctx, e)
			if err != nil || reply == nil || reply.Type() != string(events.PaymentSuccess) {
				t.Fatalf("redelivery after the claim lapsed = %v, %v", reply, err)
			}
			if _, taken := h.gw.Charges(); taken != 1 {
				t.Fatalf("%d charges, want 1", taken)
			}
		})
		t.Run("cancelled before STOCK_RESERVED: nothing is charged", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database), time.Minute)
			orderID := ids.New()
			if _, _, err := h.db().CancelOrder(ctx, orderID); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				reply, err := h.f.Handle(ctx, reserved(t, orderID, payment.TokenVisa))
				if err != nil || reply != nil {
					t.Fatalf("Handle = %v, %v; want acknowledged without reply", reply, err)
				}
			}
			if calls, _ := h.gw.Charges(); calls != 0 {
				t.Fatalf("gateway called %d times for a cancelled order", calls)
			}
			if _, err := h.db().Get(ctx, ids.Derive(orderID, "payment")); !errors.Is(err, paymentstore.ErrNotFound) {
				t.Fatalf("payment of a cancelled order: %v", err)
			}
		})
		t.Run("gateway down: retryable, stays pending, charges after recovery", func(t *testing.T) {
			h := start(t, engine.Config(t, paymentstore.Database), time.Minute)
			h.gw.Fail(payment.ErrUnavailable)
			orderID := ids.New()
			e := reserved(t, orderID, payment.TokenVisa)
			if _, err := h.f.Handle(ctx, e); !errors.Is(err, payment.ErrUnavailable) || fn.IsPermanent(err) {
				t.Fatalf("Handle = %v, want a retryable ErrUnavailable", err)
			}
			p, err := h.db().Get(ctx, ids.Derive(orderID, "payment"))
			if err != nil || p.Status != paymentstore.Pending {
				t.Fatalf("payment = %+v, %v; want PENDING", p, err)
			}
			h.gw.Fail(nil)
			if reply, err := h.f.Handle(ctx, e); err != nil || reply == nil || reply.Type() != string(events.PaymentSuccess) {
				t.Fatalf("redelivery after recovery = %v, %v", reply, err)
			}
		})
	})
}

// TestStatusMapping drives the function through the runtime, as the
// Broker does.
func TestStatusMapping(t *testing.T) {
	h := start(t, storetest.MySQL(t, paymentstore.Database), time.Minute)
	handler, err := fn.Handler(h.f)
	if err != nil {
		t.Fatal(err)
	}
	good := reserved(t, ids.New(), payment.TokenVisa)
	zero := reserved(t, ids.New(), payment.TokenVisa)
	if err := zero.SetData(event.ApplicationJSON, map[string]any{
		"orderId": ids.New(), "customerId": "c", "items": []map[string]any{{"productId": "p", "quantity": 1}},
		"total": map[string]any{"amount": 0, "currency": "USD"}, "paymentMethod": "pm_card_visa", "shippingAddress": address,
	}); err != nil {
		t.Fatal(err)
	}
	wrongType := reserved(t, ids.New(), payment.TokenVisa)
	wrongType.SetType(string(events.OrderPlaced))
	missing := reserved(t, ids.New(), payment.TokenVisa)
	if err := missing.SetData(event.ApplicationJSON, map[string]any{"orderId": "o"}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		e          event.Event
		wantStatus int
		wantType   string
	}{
		"stock reserved is charged":      {good, http.StatusOK, string(events.PaymentSuccess)},
		"the same event again":           {good, http.StatusOK, string(events.PaymentSuccess)},
		"zero total fails the payment":   {zero, http.StatusOK, string(events.PaymentFailure)},
		"another type is not retried":    {wrongType, http.StatusBadRequest, ""},
		"missing fields are not retried": {missing, http.StatusBadRequest, ""},
	}
	var firstID string
	for _, name := range []string{"stock reserved is charged", "the same event again", "zero total fails the payment", "another type is not retried", "missing fields are not retried"} {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			status, reply := storetest.Deliver(t, handler, tc.e)
			var typ, id string
			if reply != nil {
				typ, id = reply.Type(), reply.ID()
			}
			if status != tc.wantStatus || typ != tc.wantType {
				t.Fatalf("status %d type %q, want %d %q", status, typ, tc.wantStatus, tc.wantType)
			}
			if tc.e.ID() == good.ID() {
				if firstID == "" {
					firstID = id
				} else if id != firstID {
					t.Fatalf("redelivery answered %s, want %s", id, firstID)
				}
			}
		})
	}
	// The good order once (its redelivery answers the stored reply) and the
	// zero total once (the gateway refuses it as a request).
	if calls, _ := h.gw.Charges(); calls != 2 {
		t.Fatalf("gateway called %d times, want 2", calls)
	}
}

// TestStripeGatewayWiring runs charge-payment with PAYMENT_GATEWAY=stripe
// against stripe-mock: configuration reaches the adapter and its answer
// becomes the reply. stripe-mock's canned intent is requires_payment_method,
// so the reply is PAYMENT_FAILURE.
func TestStripeGatewayWiring(t *testing.T) {
	base := paymenttest.StripeMock(t)
	f := New()
	paymentstoretest.Start(t, f, storetest.MySQL(t, paymentstore.Database), map[string]string{"PAYMENT_GATEWAY": "stripe",
		"STRIPE_API_KEY": "sk_test_123", "STRIPE_API_BASE": base})
	orderID := ids.New()
	reply, err := f.Handle(context.Background(), reserved(t, orderID, payment.TokenVisa))
	if err != nil || reply == nil || reply.Type() != string(events.PaymentFailure) {
		t.Fatalf("Handle = %v, %v; want stripe-mock's canned answer as PAYMENT_FAILURE", reply, err)
	}
	p, err := f.Opened().Store.(*paymentstore.Store).Get(context.Background(), ids.Derive(orderID, "payment"))
	if err != nil || p.Gateway != "stripe" || len(p.TransactionID) < 4 || p.TransactionID[:3] != "pi_" {
		t.Fatalf("payment = %+v, %v; want a stripe payment with its PaymentIntent id", p, err)
	}
}
