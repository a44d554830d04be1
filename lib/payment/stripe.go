package payment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v82"
)

// Stripe charges through Stripe PaymentIntents (created and confirmed in one
// call) and refunds through Stripe refunds, each under the caller's
// idempotency key.
type Stripe struct {
	client *stripe.Client
}

var _ Gateway = (*Stripe)(nil)

// Metadata keys knshop sets on a PaymentIntent.
const (
	MetadataOrderID   = "order_id"
	MetadataPaymentID = "payment_id"
)

// NewStripe returns a Stripe gateway using key. apiBase, when not empty,
// replaces https://api.stripe.com (stripe-mock in tests); httpClient, when
// not nil, carries the requests.
func NewStripe(key, apiBase string, httpClient *http.Client) *Stripe {
	cfg := &stripe.BackendConfig{
		// The client library never logs: its messages could carry request
		// details, and the caller logs what matters.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
		// The library retries network failures under the same idempotency
		// key; one retry here, the Broker retries the rest.
		MaxNetworkRetries: stripe.Int64(1),
		HTTPClient:        httpClient,
	}
	if apiBase != "" {
		cfg.URL = stripe.String(apiBase)
	}
	return &Stripe{client: stripe.NewClient(key, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))}
}

// Name is "stripe".
func (s *Stripe) Name() string { return StripeName }

// Charge creates and confirms a card PaymentIntent.
func (s *Stripe) Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error) {
	if err := req.Validate(); err != nil {
		return ChargeResult{}, fmt.Errorf("stripe charge: %w", err)
	}
	params := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(req.Amount.Amount),
		Currency:           stripe.String(strings.ToLower(req.Amount.Currency)),
		PaymentMethod:      stripe.String(req.Method),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Confirm:            stripe.Bool(true),
		Metadata:           map[string]string{MetadataOrderID: req.OrderID, MetadataPaymentID: req.PaymentID},
	}
	params.SetIdempotencyKey(req.IdempotencyKey)
	pi, err := s.client.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return chargeError(err)
	}
	return intentResult(pi), nil
}

// Refund refunds the PaymentIntent req.TransactionID.
func (s *Stripe) Refund(ctx context.Context, req RefundRequest) (RefundResult, error) {
	if err := req.Validate(); err != nil {
		return RefundResult{}, fmt.Errorf("stripe refund: %w", err)
	}
	params := &stripe.RefundCreateParams{
		PaymentIntent: stripe.String(req.TransactionID),
		Amount:        stripe.Int64(req.Amount.Amount),
	}
	params.SetIdempotencyKey(req.IdempotencyKey)
	r, err := s.client.V1Refunds.Create(ctx, params)
	if err != nil {
		return RefundResult{}, fmt.Errorf("stripe refund: %w", classify(err))
	}
	return RefundResult{RefundID: r.ID}, nil
}

// intentResult maps a PaymentIntent's status onto an outcome.
func intentResult(pi *stripe.PaymentIntent) ChargeResult {
	res := ChargeResult{TransactionID: pi.ID}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		res.Outcome = Succeeded
	case stripe.PaymentIntentStatusProcessing, stripe.PaymentIntentStatusRequiresCapture:
		res.Outcome = Processing
	case stripe.PaymentIntentStatusRequiresAction, stripe.PaymentIntentStatusRequiresConfirmation:
		// Server-side confirmation cannot authenticate the card holder.
		res.Outcome, res.Code, res.Reason = Declined, CodeAuthentication, "The card needs the holder to authenticate."
	default:
		res.Outcome, res.Code, res.Reason = Declined, CodeCardDeclined, "The payment method was not accepted."
		if e := pi.LastPaymentError; e != nil {
			res.Code, res.Reason = declineCode(e), e.Msg
		}
	}
	return res
}

// chargeError maps an error of PaymentIntent creation: a card error is a
// declined outcome (Stripe answers 402 with the intent), anything else an
// error classified for retrying.
func chargeError(err error) (ChargeResult, error) {
	var se *stripe.Error
	if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
		res := ChargeResult{Outcome: Declined, Code: declineCode(se), Reason: se.Msg}
		if se.PaymentIntent != nil {
			res.TransactionID = se.PaymentIntent.ID
		}
		return res, nil
	}
	return ChargeResult{}, fmt.Errorf("stripe charge: %w", classify(err))
}

// declineCode reduces Stripe's codes to the ones PAYMENT_FAILURE carries:
// insufficient_funds when the issuer said so, card_declined otherwise.
func declineCode(e *stripe.Error) string {
	if e.DeclineCode == stripe.DeclineCodeInsufficientFunds {
		return CodeInsufficientFunds
	}
	var ce *stripe.CardError
	if errors.As(e.Err, &ce) && ce.DeclineCode == stripe.DeclineCodeInsufficientFunds {
		return CodeInsufficientFunds
	}
	return CodeCardDeclined
}

// classify wraps err in the sentinel that says whether a retry may help.
func classify(err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		// No answer from Stripe at all: network, timeout, cancelled.
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	// Only Stripe's own fields go into the message: never the request.
	detail := fmt.Sprintf("%s (status %d, request %s)", se.Type, se.HTTPStatusCode, se.RequestID)
	switch {
	case se.Type == stripe.ErrorTypeIdempotency:
		return fmt.Errorf("%w: %s", ErrIdempotencyConflict, detail)
	case se.HTTPStatusCode == http.StatusTooManyRequests,
		se.HTTPStatusCode == http.StatusUnauthorized,
		se.HTTPStatusCode == http.StatusConflict,
		se.HTTPStatusCode >= 500,
		se.Type == stripe.ErrorTypeAPI:
		return fmt.Errorf("%w: %s", ErrUnavailable, detail)
	}
	return fmt.Errorf("%w: %s: %s", ErrRejected, detail, se.Msg)
}
