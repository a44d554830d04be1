package payment_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/payment"
	"github.com/knshop/knshop/lib/payment/paymenttest"
)

// runGatewaySuite holds a gateway to the contract charge-payment and
// refund-payment rely on, whatever the provider: a request that can never
// succeed is ErrRejected before anything is sent (sent counts what reached
// the provider), and a charge and its refund come back with ids.
func runGatewaySuite(t *testing.T, g payment.Gateway, name string, sent func() int) {
	ctx := context.Background()
	if g.Name() != name {
		t.Fatalf("Name() = %q, want %q", g.Name(), name)
	}
	badCharges := map[string]func(*payment.ChargeRequest){
		"no idempotency key": func(r *payment.ChargeRequest) { r.IdempotencyKey = "" },
		"no payment method":  func(r *payment.ChargeRequest) { r.Method = "" },
		"zero amount":        func(r *payment.ChargeRequest) { r.Amount.Amount = 0 },
		"negative amount":    func(r *payment.ChargeRequest) { r.Amount.Amount = -1 },
		"lower-case currency": func(r *payment.ChargeRequest) {
			r.Amount.Currency = "usd"
		},
		"not a currency": func(r *payment.ChargeRequest) { r.Amount.Currency = "US1" },
	}
	for what, spoil := range badCharges {
		t.Run("charge with "+what+" is rejected unsent", func(t *testing.T) {
			req := charge(payment.TokenVisa, "bad-"+what)
			spoil(&req)
			before := sent()
			if _, err := g.Charge(ctx, req); !errors.Is(err, payment.ErrRejected) {
				t.Fatalf("Charge = %v, want ErrRejected", err)
			}
			if sent() != before {
				t.Fatal("a request that can never succeed reached the provider")
			}
		})
	}
	res, err := g.Charge(ctx, charge(payment.TokenVisa, "conformance-1"))
	if err != nil {
		t.Fatalf("Charge: %v", err)
	}
	if res.TransactionID == "" || !slices.Contains([]payment.Outcome{payment.Succeeded, payment.Declined, payment.Processing}, res.Outcome) {
		t.Fatalf("Charge = %+v: want a transaction id and a known outcome", res)
	}
	if res.Outcome == payment.Declined && res.Code == "" {
		t.Fatalf("a decline without a code: %+v", res)
	}
	badRefunds := map[string]payment.RefundRequest{
		"no idempotency key": {TransactionID: res.TransactionID, Amount: money.New(1999, "USD")},
		"no transaction":     {IdempotencyKey: "r-none", Amount: money.New(1999, "USD")},
		"zero amount":        {IdempotencyKey: "r-zero", TransactionID: res.TransactionID, Amount: money.New(0, "USD")},
	}
	for what, req := range badRefunds {
		t.Run("refund with "+what+" is rejected unsent", func(t *testing.T) {
			before := sent()
			if _, err := g.Refund(ctx, req); !errors.Is(err, payment.ErrRejected) {
				t.Fatalf("Refund = %v, want ErrRejected", err)
			}
			if sent() != before {
				t.Fatal("a request that can never succeed reached the provider")
			}
		})
	}
	// Two partial refunds (two returns of one order) are two refunds.
	var partial []string
	for _, key := range []string{"conformance-p1", "conformance-p2"} {
		r, err := g.Refund(ctx, payment.RefundRequest{IdempotencyKey: key, TransactionID: res.TransactionID, Amount: money.New(500, "USD")})
		if err != nil || r.RefundID == "" {
			t.Fatalf("partial Refund = %+v, %v; want a refund id", r, err)
		}
		partial = append(partial, r.RefundID)
	}
	if partial[0] == partial[1] {
		t.Fatalf("two partial refunds share the id %s", partial[0])
	}
	refund, err := g.Refund(ctx, payment.RefundRequest{IdempotencyKey: "conformance-r1", TransactionID: res.TransactionID, Amount: money.New(999, "USD")})
	if err != nil || refund.RefundID == "" {
		t.Fatalf("Refund = %+v, %v; want a refund id", refund, err)
	}
}

func TestSandboxKeepsTheGatewayContract(t *testing.T) {
	runGatewaySuite(t, payment.NewSandbox(), "sandbox", func() int { return 0 })
}

func TestStripeKeepsTheGatewayContract(t *testing.T) {
	rec := &recorder{}
	g := payment.NewStripe("sk_test_123", paymenttest.StripeMock(t), &http.Client{Transport: rec, Timeout: 10 * time.Second})
	runGatewaySuite(t, g, "stripe", func() int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.reqs)
	})
}
