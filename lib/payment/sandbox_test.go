package payment_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/payment"
)

// resultWanted checks a Charge's error against wantErr, and reports
// whether the test goes on to check the result: no error was wanted and
// none came.
func resultWanted(t *testing.T, err, wantErr error) bool {
	t.Helper()
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("Charge error = %v, want %v", err, wantErr)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func charge(method, key string) payment.ChargeRequest {
	return payment.ChargeRequest{IdempotencyKey: key, OrderID: "o-" + key, PaymentID: key, Amount: money.New(1999, "USD"), Method: method}
}

func TestSandboxChargeOutcomes(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		method   string
		outcome  payment.Outcome
		code     string
		wantErr  error
		modifier func(*payment.ChargeRequest)
	}{
		"visa succeeds":                   {method: payment.TokenVisa, outcome: payment.Succeeded},
		"chargeDeclined is card_declined": {method: payment.TokenDeclined, outcome: payment.Declined, code: payment.CodeCardDeclined},
		"insufficient funds":              {method: payment.TokenInsufficientFunds, outcome: payment.Declined, code: payment.CodeInsufficientFunds},
		"authentication stays processing": {method: payment.TokenAuthenticationRequired, outcome: payment.Processing},
		"unknown token is declined":       {method: "pm_card_unknownthing", outcome: payment.Declined, code: payment.CodeInvalidPaymentMethod},
		"the maximum is charged": {method: payment.TokenVisa, outcome: payment.Succeeded,
			modifier: func(r *payment.ChargeRequest) { r.Amount.Amount = payment.SandboxMaxCharge }},
		"over the maximum is rejected": {method: payment.TokenVisa, wantErr: payment.ErrRejected,
			modifier: func(r *payment.ChargeRequest) { r.Amount.Amount = payment.SandboxMaxCharge + 1 }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := payment.NewSandbox()
			req := charge(tc.method, "k-"+name)
			if tc.modifier != nil {
				tc.modifier(&req)
			}
			res, err := g.Charge(context.Background(), req)
			if !resultWanted(t, err, tc.wantErr) {
				return
			}
			if res.Outcome != tc.outcome || res.Code != tc.code {
				t.Fatalf("Charge = %+v, want outcome %s code %q", res, tc.outcome, tc.code)
			}
			if !strings.HasPrefix(res.TransactionID, "sbx_ch_") {
				t.Fatalf("transaction id %q lacks the sandbox prefix", res.TransactionID)
			}
		})
	}
}

func TestSandboxIdempotency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := payment.NewSandbox()
	first, err := g.Charge(ctx, charge(payment.TokenVisa, "key-1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("same key same result", func(t *testing.T) {
		again, err := g.Charge(ctx, charge(payment.TokenVisa, "key-1"))
		if err != nil || again != first {
			t.Fatalf("repeat = %+v, %v; want %+v", again, err, first)
		}
	})
	t.Run("same key in a fresh sandbox gives the same transaction", func(t *testing.T) {
		other, err := payment.NewSandbox().Charge(ctx, charge(payment.TokenVisa, "key-1"))
		if err != nil || other.TransactionID != first.TransactionID {
			t.Fatalf("fresh sandbox = %+v, %v; want transaction %s", other, err, first.TransactionID)
		}
	})
	t.Run("same key other request conflicts", func(t *testing.T) {
		req := charge(payment.TokenVisa, "key-1")
		req.Amount.Amount++
		if _, err := g.Charge(ctx, req); !errors.Is(err, payment.ErrIdempotencyConflict) {
			t.Fatalf("reused key = %v, want ErrIdempotencyConflict", err)
		}
	})
	t.Run("another key is another transaction", func(t *testing.T) {
		other, err := g.Charge(ctx, charge(payment.TokenVisa, "key-2"))
		if err != nil || other.TransactionID == first.TransactionID {
			t.Fatalf("key-2 = %+v, %v", other, err)
		}
	})
	refund := payment.RefundRequest{IdempotencyKey: "r-1", TransactionID: first.TransactionID, Amount: money.New(1999, "USD")}
	r1, err := g.Refund(ctx, refund)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("refund repeat gives the same refund", func(t *testing.T) {
		r2, err := g.Refund(ctx, refund)
		if err != nil || r2 != r1 {
			t.Fatalf("refund repeat = %+v, %v; want %+v", r2, err, r1)
		}
	})
	t.Run("second refund under another key is rejected", func(t *testing.T) {
		again := refund
		again.IdempotencyKey = "r-2"
		if _, err := g.Refund(ctx, again); !errors.Is(err, payment.ErrRejected) {
			t.Fatalf("second refund = %v, want ErrRejected", err)
		}
	})
	t.Run("partial refunds add up to what was charged, not beyond", func(t *testing.T) {
		ch, err := g.Charge(ctx, charge(payment.TokenVisa, "key-partial"))
		if err != nil {
			t.Fatal(err)
		}
		part := func(key string, amount int64) error {
			_, err := g.Refund(ctx, payment.RefundRequest{IdempotencyKey: key, TransactionID: ch.TransactionID, Amount: money.New(amount, "USD")})
			return err
		}
		if err := part("p-1", 1000); err != nil {
			t.Fatal(err)
		}
		if err := part("p-2", 1000); !errors.Is(err, payment.ErrRejected) {
			t.Fatalf("1000 more of 999 left = %v, want ErrRejected", err)
		}
		if err := part("p-3", 999); err != nil {
			t.Fatalf("the 999 left = %v", err)
		}
		if err := part("p-1", 1000); err != nil {
			t.Fatalf("a repeat of the first = %v", err)
		}
		if err := part("p-4", 1); !errors.Is(err, payment.ErrRejected) {
			t.Fatalf("1 past the charge = %v, want ErrRejected", err)
		}
	})
	t.Run("refund of a foreign transaction is rejected", func(t *testing.T) {
		foreign := refund
		foreign.IdempotencyKey, foreign.TransactionID = "r-3", "pi_123"
		if _, err := g.Refund(ctx, foreign); !errors.Is(err, payment.ErrRejected) {
			t.Fatalf("foreign refund = %v, want ErrRejected", err)
		}
	})
}

func TestDescribeKeepsOnlyBrandWords(t *testing.T) {
	t.Parallel()
	cases := map[string]struct{ in, want string }{
		"visa test token":   {"pm_card_visa", "card_visa"},
		"declined token":    {"pm_card_chargeDeclinedInsufficientFunds", "card_chargeDeclinedInsufficientFunds"},
		"opaque stripe id":  {"pm_1NxAbCdEfGh123", "pm"},
		"digits after card": {"pm_card_4242424242424242", "card"},
		"empty":             {"", "pm"},
		"three words max":   {"pm_card_visa_debit", "card_visa"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := payment.Describe(tc.in); got != tc.want {
				t.Fatalf("Describe(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestConfigFrom(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		cfg     map[string]string
		gateway string
		wantErr bool
	}{
		"default is sandbox":     {cfg: map[string]string{}, gateway: "sandbox"},
		"stripe with key":        {cfg: map[string]string{"PAYMENT_GATEWAY": "stripe", "STRIPE_API_KEY": "sk_test_x", "STRIPE_API_BASE": "http://127.0.0.1:12111"}, gateway: "stripe"},
		"stripe without key":     {cfg: map[string]string{"PAYMENT_GATEWAY": "stripe"}, wantErr: true},
		"stripe with a bad base": {cfg: map[string]string{"PAYMENT_GATEWAY": "stripe", "STRIPE_API_KEY": "k", "STRIPE_API_BASE": "nope"}, wantErr: true},
		"unknown gateway":        {cfg: map[string]string{"PAYMENT_GATEWAY": "paypal"}, wantErr: true},
		"bad timeout":            {cfg: map[string]string{"PAYMENT_TIMEOUT": "soon"}, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := payment.ConfigFrom(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ConfigFrom = %+v, %v; want error %v", c, err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, payment.ErrConfig) {
					t.Fatalf("error %v is not ErrConfig", err)
				}
				return
			}
			g, err := payment.Open(c)
			if err != nil || g.Name() != tc.gateway {
				t.Fatalf("Open = %v, %v; want %s", g, err, tc.gateway)
			}
		})
	}
}
