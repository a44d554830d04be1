package payment_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/payment"
	"github.com/stripe/stripe-go/v82/webhook"
)

func TestSandboxWebhook(t *testing.T) {
	t.Parallel()
	const secret = "sbx-secret"
	body := []byte(`{"id":"evt_1","type":"charge.failed","transactionId":"sbx_ch_1","code":"insufficient_funds","reason":"no money"}`)
	v := payment.SandboxWebhook{Secret: secret}
	cases := map[string]struct {
		body    []byte
		sig     string
		want    payment.Notification
		wantErr error
	}{
		"valid signature": {body: body, sig: payment.SignSandbox(secret, body),
			want: payment.Notification{ID: "evt_1", Kind: payment.ChargeFailed, TransactionID: "sbx_ch_1", Code: "insufficient_funds", Reason: "no money"}},
		"succeeded": {body: []byte(`{"id":"evt_2","type":"charge.succeeded","transactionId":"sbx_ch_2"}`), sig: payment.SignSandbox(secret, []byte(`{"id":"evt_2","type":"charge.succeeded","transactionId":"sbx_ch_2"}`)),
			want: payment.Notification{ID: "evt_2", Kind: payment.ChargeSucceeded, TransactionID: "sbx_ch_2"}},
		"unknown type is ignored": {body: []byte(`{"id":"evt_3","type":"dispute.created"}`), sig: payment.SignSandbox(secret, []byte(`{"id":"evt_3","type":"dispute.created"}`)),
			want: payment.Notification{ID: "evt_3", Kind: payment.Ignored}},
		"missing signature":     {body: body, wantErr: payment.ErrBadSignature},
		"signature not hex":     {body: body, sig: "zz", wantErr: payment.ErrBadSignature},
		"other secret":          {body: body, sig: payment.SignSandbox("other", body), wantErr: payment.ErrBadSignature},
		"tampered body":         {body: append([]byte(nil), append(body[:len(body)-1], ' ', '}')...), sig: payment.SignSandbox(secret, body), wantErr: payment.ErrBadSignature},
		"signed but not json":   {body: []byte("hello"), sig: payment.SignSandbox(secret, []byte("hello")), wantErr: payment.ErrBadWebhook},
		"signed but without id": {body: []byte(`{"type":"charge.succeeded"}`), sig: payment.SignSandbox(secret, []byte(`{"type":"charge.succeeded"}`)), wantErr: payment.ErrBadWebhook},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			if tc.sig != "" {
				h.Set(payment.SandboxSignatureHeader, tc.sig)
			}
			checkVerify(t, v, tc.body, h, tc.want, tc.wantErr)
		})
	}
}

// StripeEvent returns a signed Stripe webhook for a PaymentIntent event.
func stripeEvent(t *testing.T, secret, id, typ, intent string, at time.Time) ([]byte, http.Header) {
	t.Helper()
	body := []byte(`{"id":"` + id + `","object":"event","api_version":"2020-08-27","type":"` + typ + `","data":{"object":` + intent + `}}`)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at})
	h := http.Header{}
	h.Set(payment.StripeSignatureHeader, signed.Header)
	return body, h
}

func TestStripeWebhook(t *testing.T) {
	t.Parallel()
	const secret = "whsec_test"
	v := payment.StripeWebhook{Secret: secret}
	now := time.Now()
	succeeded := `{"id":"pi_1","object":"payment_intent","status":"succeeded","metadata":{"payment_id":"pay-1"}}`
	failed := `{"id":"pi_2","object":"payment_intent","status":"requires_payment_method","metadata":{"payment_id":"pay-2"},"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Insufficient funds."}}`
	cases := map[string]struct {
		body    func() ([]byte, http.Header)
		want    payment.Notification
		wantErr error
	}{
		"succeeded": {body: func() ([]byte, http.Header) {
			return stripeEvent(t, secret, "evt_1", "payment_intent.succeeded", succeeded, now)
		}, want: payment.Notification{ID: "evt_1", Kind: payment.ChargeSucceeded, TransactionID: "pi_1", PaymentID: "pay-1"}},
		"payment failed": {body: func() ([]byte, http.Header) {
			return stripeEvent(t, secret, "evt_2", "payment_intent.payment_failed", failed, now)
		}, want: payment.Notification{ID: "evt_2", Kind: payment.ChargeFailed, TransactionID: "pi_2", PaymentID: "pay-2", Code: payment.CodeInsufficientFunds, Reason: "Insufficient funds."}},
		"other type is ignored": {body: func() ([]byte, http.Header) {
			return stripeEvent(t, secret, "evt_3", "customer.created", `{"id":"cus_1","object":"customer"}`, now)
		}, want: payment.Notification{ID: "evt_3", Kind: payment.Ignored}},
		"other secret": {body: func() ([]byte, http.Header) {
			return stripeEvent(t, "whsec_other", "evt_1", "payment_intent.succeeded", succeeded, now)
		}, wantErr: payment.ErrBadSignature},
		"too old": {body: func() ([]byte, http.Header) {
			return stripeEvent(t, secret, "evt_1", "payment_intent.succeeded", succeeded, now.Add(-time.Hour))
		}, wantErr: payment.ErrBadSignature},
		"no header": {body: func() ([]byte, http.Header) {
			b, _ := stripeEvent(t, secret, "evt_1", "payment_intent.succeeded", succeeded, now)
			return b, http.Header{}
		}, wantErr: payment.ErrBadSignature},
		"tampered": {body: func() ([]byte, http.Header) {
			b, h := stripeEvent(t, secret, "evt_1", "payment_intent.succeeded", succeeded, now)
			return append(b, ' '), h
		}, wantErr: payment.ErrBadSignature},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			body, h := tc.body()
			checkVerify(t, v, body, h, tc.want, tc.wantErr)
		})
	}
}

// checkVerify asserts that v verifies body and h as want, or fails with
// wantErr when it is set.
func checkVerify(t *testing.T, v payment.WebhookVerifier, body []byte, h http.Header, want payment.Notification, wantErr error) {
	t.Helper()
	got, err := v.Verify(body, h)
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("Verify error = %v, want %v", err, wantErr)
		}
		return
	}
	if err != nil || got != want {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, want)
	}
}
