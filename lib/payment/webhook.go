package payment

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
)

// ErrBadSignature is a webhook whose signature is missing or does not match.
var ErrBadSignature = errors.New("payment: webhook signature missing or wrong")

// ErrBadWebhook is a signed webhook whose body cannot be read.
var ErrBadWebhook = errors.New("payment: webhook body unreadable")

// Kind is what a webhook notification tells.
type Kind string

// Notification kinds knshop acts on; everything else is Ignored.
const (
	ChargeSucceeded Kind = "charge_succeeded"
	ChargeFailed    Kind = "charge_failed"
	Ignored         Kind = "ignored"
)

// Notification is a verified webhook, reduced to what knshop needs.
type Notification struct {
	// ID is the gateway's id of the webhook event, unique per event: the
	// key for discarding redeliveries.
	ID   string
	Kind Kind
	// TransactionID is the charge it is about; PaymentID the knshop
	// payment, when the gateway carries it back (Stripe metadata).
	TransactionID string
	PaymentID     string
	// Code and Reason say why a charge failed.
	Code   string
	Reason string
}

// WebhookVerifier checks a webhook's signature and reads it.
type WebhookVerifier interface {
	Verify(body []byte, h http.Header) (Notification, error)
}

// SandboxSignatureHeader carries the hex HMAC-SHA256 of a sandbox webhook body.
const SandboxSignatureHeader = "X-Signature"

// SandboxWebhook verifies sandbox webhooks: the body is a JSON
// SandboxEvent, signed with HMAC-SHA256 under Secret, hex in X-Signature.
type SandboxWebhook struct{ Secret string }

// SandboxEvent is the body of a sandbox webhook.
type SandboxEvent struct {
	ID            string `json:"id"`
	Type          string `json:"type"` // "charge.succeeded" or "charge.failed"
	TransactionID string `json:"transactionId"`
	PaymentID     string `json:"paymentId,omitempty"`
	Code          string `json:"code,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// SignSandbox returns the X-Signature value of body under secret.
func SignSandbox(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks X-Signature in constant time, then reads the body.
func (w SandboxWebhook) Verify(body []byte, h http.Header) (Notification, error) {
	got, err := hex.DecodeString(h.Get(SandboxSignatureHeader))
	if err != nil || len(got) == 0 || w.Secret == "" {
		return Notification{}, ErrBadSignature
	}
	want, err := hex.DecodeString(SignSandbox(w.Secret, body))
	if err != nil || !hmac.Equal(got, want) {
		return Notification{}, ErrBadSignature
	}
	var e SandboxEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return Notification{}, fmt.Errorf("%w: %v", ErrBadWebhook, err)
	}
	if e.ID == "" {
		return Notification{}, fmt.Errorf("%w: no event id", ErrBadWebhook)
	}
	n := Notification{ID: e.ID, Kind: Ignored, TransactionID: e.TransactionID, PaymentID: e.PaymentID}
	switch e.Type {
	case "charge.succeeded":
		n.Kind = ChargeSucceeded
	case "charge.failed":
		n.Kind, n.Code, n.Reason = ChargeFailed, e.Code, e.Reason
		if n.Code == "" {
			n.Code = CodeCardDeclined
		}
	}
	return n, nil
}

// StripeSignatureHeader is the header Stripe signs webhooks in.
const StripeSignatureHeader = "Stripe-Signature"

// StripeWebhook verifies Stripe webhooks with the endpoint's signing secret.
type StripeWebhook struct{ Secret string }

// Verify checks Stripe-Signature (and its timestamp tolerance) and reads
// payment_intent.succeeded and payment_intent.payment_failed.
func (w StripeWebhook) Verify(body []byte, h http.Header) (Notification, error) {
	if w.Secret == "" {
		return Notification{}, ErrBadSignature
	}
	ev, err := webhook.ConstructEventWithOptions(body, h.Get(StripeSignatureHeader), w.Secret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		var sigErr bool
		for _, target := range []error{webhook.ErrNotSigned, webhook.ErrInvalidHeader, webhook.ErrNoValidSignature, webhook.ErrTooOld} {
			sigErr = sigErr || errors.Is(err, target)
		}
		if sigErr {
			return Notification{}, ErrBadSignature
		}
		return Notification{}, fmt.Errorf("%w: %v", ErrBadWebhook, err)
	}
	n := Notification{ID: ev.ID, Kind: Ignored}
	switch ev.Type {
	case stripe.EventTypePaymentIntentSucceeded, stripe.EventTypePaymentIntentPaymentFailed:
	default:
		return n, nil
	}
	if ev.Data == nil {
		return Notification{}, fmt.Errorf("%w: %s without an object", ErrBadWebhook, ev.Type)
	}
	var pi stripe.PaymentIntent
	if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
		return Notification{}, fmt.Errorf("%w: %v", ErrBadWebhook, err)
	}
	n.TransactionID, n.PaymentID = pi.ID, pi.Metadata[MetadataPaymentID]
	if ev.Type == stripe.EventTypePaymentIntentSucceeded {
		n.Kind = ChargeSucceeded
		return n, nil
	}
	res := intentResult(&pi)
	n.Kind, n.Code, n.Reason = ChargeFailed, res.Code, res.Reason
	return n, nil
}
