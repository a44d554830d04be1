package payment_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/payment"
	"github.com/knshop/knshop/lib/payment/paymenttest"
	"github.com/knshop/knshop/lib/storetest"
)

// fakeStripe answers every request with one status and body, the way
// Stripe's API answers errors; it only stands in for the provider.
func fakeStripe(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_test")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestStripeMapsAnswers(t *testing.T) {
	t.Parallel()
	const declined = `{"error":{"type":"card_error","code":"card_declined","decline_code":"%s","message":"Your card was declined.","payment_intent":{"id":"pi_declined","object":"payment_intent","status":"requires_payment_method"}}}`
	cases := map[string]struct {
		status  int
		body    string
		want    payment.ChargeResult
		wantErr error
	}{
		"generic decline is card_declined": {status: 402, body: fmt.Sprintf(declined, "generic_decline"),
			want: payment.ChargeResult{Outcome: payment.Declined, TransactionID: "pi_declined", Code: payment.CodeCardDeclined, Reason: "Your card was declined."}},
		"insufficient funds": {status: 402, body: fmt.Sprintf(declined, "insufficient_funds"),
			want: payment.ChargeResult{Outcome: payment.Declined, TransactionID: "pi_declined", Code: payment.CodeInsufficientFunds, Reason: "Your card was declined."}},
		"succeeded intent": {status: 200, body: `{"id":"pi_ok","object":"payment_intent","status":"succeeded"}`,
			want: payment.ChargeResult{Outcome: payment.Succeeded, TransactionID: "pi_ok"}},
		"processing intent": {status: 200, body: `{"id":"pi_wait","object":"payment_intent","status":"processing"}`,
			want: payment.ChargeResult{Outcome: payment.Processing, TransactionID: "pi_wait"}},
		"requires action": {status: 200, body: `{"id":"pi_3ds","object":"payment_intent","status":"requires_action"}`,
			want: payment.ChargeResult{Outcome: payment.Declined, TransactionID: "pi_3ds", Code: payment.CodeAuthentication, Reason: "The card needs the holder to authenticate."}},
		"server error is retryable":   {status: 500, body: `{"error":{"type":"api_error","message":"boom"}}`, wantErr: payment.ErrUnavailable},
		"rate limit is retryable":     {status: 429, body: `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"slow down"}}`, wantErr: payment.ErrUnavailable},
		"bad key is retryable":        {status: 401, body: `{"error":{"type":"invalid_request_error","message":"Invalid API Key"}}`, wantErr: payment.ErrUnavailable},
		"invalid request is rejected": {status: 400, body: `{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","message":"bad amount"}}`, wantErr: payment.ErrRejected},
		"idempotency error":           {status: 400, body: `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`, wantErr: payment.ErrIdempotencyConflict},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := payment.NewStripe("sk_test_fake", fakeStripe(t, tc.status, tc.body), nil)
			res, err := g.Charge(context.Background(), charge(payment.TokenVisa, "k"))
			if !resultWanted(t, err, tc.wantErr) {
				return
			}
			if res != tc.want {
				t.Fatalf("Charge = %+v, want %+v", res, tc.want)
			}
		})
	}
	t.Run("no server is retryable", func(t *testing.T) {
		t.Parallel()
		addr := storetest.FreeAddr(t)
		g := payment.NewStripe("sk_test_fake", "http://"+addr, nil)
		if _, err := g.Charge(context.Background(), charge(payment.TokenVisa, "k")); !errors.Is(err, payment.ErrUnavailable) {
			t.Fatalf("Charge to a closed port = %v, want ErrUnavailable", err)
		}
	})
}

// recorder keeps the requests a client sends, bodies included.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	path   string
	header http.Header
	form   url.Values
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		if err := req.Body.Close(); err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{path: req.URL.Path, header: req.Header.Clone(), form: form})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) last(t *testing.T) recorded {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no request was sent")
	}
	return r.reqs[len(r.reqs)-1]
}

// TestStripeAgainstStripeMock shows that stripe-mock, which validates each
// request against Stripe's OpenAPI spec, accepts the PaymentIntent and the
// refund requests as sent, with the idempotency key in the header, and that
// the answers map onto results. stripe-mock answers canned objects (its
// intent always says requires_payment_method), so the decline mapping of
// real answers is proven in TestStripeMapsAnswers.
func TestStripeAgainstStripeMock(t *testing.T) {
	base := paymenttest.StripeMock(t)
	rec := &recorder{}
	g := payment.NewStripe("sk_test_123", base, &http.Client{Transport: rec, Timeout: 10 * time.Second})
	ctx := context.Background()

	req := payment.ChargeRequest{IdempotencyKey: "pay-123", OrderID: "order-9", PaymentID: "pay-123", Amount: money.New(1999, "USD"), Method: payment.TokenVisa}
	res, err := g.Charge(ctx, req)
	if err != nil {
		t.Fatalf("Charge against stripe-mock: %v", err)
	}
	sent := rec.last(t)
	checks := map[string]struct{ got, want string }{
		"path":                 {sent.path, "/v1/payment_intents"},
		"idempotency header":   {sent.header.Get("Idempotency-Key"), "pay-123"},
		"amount":               {sent.form.Get("amount"), "1999"},
		"currency":             {sent.form.Get("currency"), "usd"},
		"payment method":       {sent.form.Get("payment_method"), payment.TokenVisa},
		"confirm":              {sent.form.Get("confirm"), "true"},
		"payment method types": {sent.form.Get("payment_method_types[0]"), "card"},
		"order metadata":       {sent.form.Get("metadata[order_id]"), "order-9"},
		"payment metadata":     {sent.form.Get("metadata[payment_id]"), "pay-123"},
	}
	for name, c := range checks {
		t.Run("charge sends "+name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("%s = %q, want %q", name, c.got, c.want)
			}
		})
	}
	t.Run("charge answer is mapped", func(t *testing.T) {
		if !strings.HasPrefix(res.TransactionID, "pi_") {
			t.Fatalf("transaction id %q is not a PaymentIntent id", res.TransactionID)
		}
		// stripe-mock's canned intent is requires_payment_method.
		if res.Outcome != payment.Declined || res.Code == "" {
			t.Fatalf("canned intent mapped to %+v, want a declined outcome with a code", res)
		}
	})

	refund, err := g.Refund(ctx, payment.RefundRequest{IdempotencyKey: "refund-1", TransactionID: res.TransactionID, Amount: money.New(1999, "USD")})
	if err != nil {
		t.Fatalf("Refund against stripe-mock: %v", err)
	}
	sent = rec.last(t)
	t.Run("refund request and answer", func(t *testing.T) {
		if sent.path != "/v1/refunds" || sent.header.Get("Idempotency-Key") != "refund-1" ||
			sent.form.Get("payment_intent") != res.TransactionID || sent.form.Get("amount") != "1999" {
			t.Fatalf("refund sent %s %v %v", sent.path, sent.header.Get("Idempotency-Key"), sent.form)
		}
		if !strings.HasPrefix(refund.RefundID, "re_") {
			t.Fatalf("refund id %q is not a Stripe refund id", refund.RefundID)
		}
	})
}

func TestConfigLogsNoSecrets(t *testing.T) {
	t.Parallel()
	c, err := payment.ConfigFrom(map[string]string{"PAYMENT_GATEWAY": "stripe", "STRIPE_API_KEY": "sk_test_SECRET", "STRIPE_WEBHOOK_SECRET": "whsec_SECRET", "SANDBOX_WEBHOOK_SECRET": "sbx_SECRET"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "payment", c)
	if strings.Contains(buf.String(), "SECRET") {
		t.Fatalf("the log line carries a secret: %s", buf.String())
	}
	if !strings.Contains(buf.String(), `"stripe_api_key_set":true`) {
		t.Fatalf("the log line does not say the key is set: %s", buf.String())
	}
}
