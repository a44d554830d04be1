// Package payment talks to payment gateways: it charges a payment method
// and refunds a charge, always under an idempotency key, so a retried step
// never moves money twice. A declined card is an outcome, not an error;
// errors are for what a retry may fix (ErrUnavailable) and for requests a
// retry cannot fix (ErrRejected, ErrIdempotencyConflict).
package payment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/knshop/knshop/lib/money"
)

// Gateway charges and refunds.
type Gateway interface {
	// Charge takes req.Amount from req.Method. The same IdempotencyKey
	// always gives the same result and moves money at most once.
	Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error)
	// Refund returns a captured charge. The same IdempotencyKey always
	// gives the same refund.
	Refund(ctx context.Context, req RefundRequest) (RefundResult, error)
	// Name is the gateway's name as configured: "sandbox" or "stripe".
	Name() string
}

// Errors of a gateway call.
var (
	// ErrUnavailable is a failure a retry may fix: network, timeouts, the
	// gateway's 5xx, rate limiting, credentials the operator must fix.
	ErrUnavailable = errors.New("payment: gateway unavailable")
	// ErrRejected is a request the gateway refuses whatever the retry: bad
	// amount, unknown charge, already refunded.
	ErrRejected = errors.New("payment: request rejected by the gateway")
	// ErrIdempotencyConflict is an idempotency key reused for another request.
	ErrIdempotencyConflict = errors.New("payment: idempotency key reused with another request")
)

// Outcome is what a charge came to.
type Outcome string

// Charge outcomes.
const (
	// Succeeded: the money is captured.
	Succeeded Outcome = "succeeded"
	// Declined: the payment method was refused; Code says why.
	Declined Outcome = "declined"
	// Processing: the gateway has not decided yet (e.g. the card holder
	// must authenticate); a webhook tells the outcome later.
	Processing Outcome = "processing"
)

// Failure codes of a declined charge, as PAYMENT_FAILURE carries them.
const (
	CodeCardDeclined         = "card_declined"
	CodeInsufficientFunds    = "insufficient_funds"
	CodeInvalidPaymentMethod = "invalid_payment_method"
	CodeAuthentication       = "authentication_required"
)

// ChargeRequest asks for one charge.
type ChargeRequest struct {
	// IdempotencyKey makes retries safe: knshop uses the payment id.
	IdempotencyKey string
	OrderID        string
	PaymentID      string
	Amount         money.Money
	// Method is the payment method token, e.g. "pm_card_visa". It never
	// reaches a log; Describe gives a loggable form.
	Method string
}

// Validate reports what makes req unusable, as an error wrapping ErrRejected.
func (r ChargeRequest) Validate() error {
	switch {
	case r.IdempotencyKey == "":
		return fmt.Errorf("%w: no idempotency key", ErrRejected)
	case r.Method == "":
		return fmt.Errorf("%w: no payment method", ErrRejected)
	case r.Amount.Amount <= 0:
		return fmt.Errorf("%w: amount must be positive", ErrRejected)
	}
	if err := r.Amount.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	return nil
}

// ChargeResult is the gateway's answer to a charge.
type ChargeResult struct {
	Outcome Outcome
	// TransactionID is the gateway's id of the charge (a Stripe
	// PaymentIntent id), set for every outcome.
	TransactionID string
	// Code and Reason say why a charge was declined.
	Code   string
	Reason string
}

// RefundRequest asks to refund a captured charge.
type RefundRequest struct {
	// IdempotencyKey makes retries safe: knshop derives it from the payment.
	IdempotencyKey string
	TransactionID  string
	Amount         money.Money
}

// Validate reports what makes req unusable, as an error wrapping ErrRejected.
func (r RefundRequest) Validate() error {
	switch {
	case r.IdempotencyKey == "":
		return fmt.Errorf("%w: no idempotency key", ErrRejected)
	case r.TransactionID == "":
		return fmt.Errorf("%w: no transaction to refund", ErrRejected)
	case r.Amount.Amount <= 0:
		return fmt.Errorf("%w: amount must be positive", ErrRejected)
	}
	return nil
}

// RefundResult is the gateway's answer to a refund.
type RefundResult struct {
	RefundID string
}

// Describe returns the part of a payment method token that is safe to log,
// store and show: its type and brand-like words ("card_visa" for
// "pm_card_visa"), never an opaque or numeric part ("pm" for "pm_1Nx...").
func Describe(method string) string {
	parts := strings.Split(method, "_")
	out := []string{}
	for i, p := range parts {
		if i == 0 && p == "pm" {
			continue
		}
		if p == "" || len(out) == 2 || !isWord(p) {
			break
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return "pm"
	}
	return strings.Join(out, "_")
}

func isWord(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return len(s) <= 32
}
