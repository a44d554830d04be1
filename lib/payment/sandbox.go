package payment

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/knshop/knshop/lib/ids"
)

// The sandbox's test tokens; they behave as Stripe's test mode does.
const (
	TokenVisa                   = "pm_card_visa"
	TokenDeclined               = "pm_card_chargeDeclined"
	TokenInsufficientFunds      = "pm_card_chargeDeclinedInsufficientFunds"
	TokenAuthenticationRequired = "pm_card_authenticationRequired"
)

// Prefixes of the ids the sandbox hands out.
const (
	sandboxChargePrefix = "sbx_ch_"
	sandboxRefundPrefix = "sbx_re_"
)

// Sandbox is the local gateway: deterministic, in-process, no network.
// Ids derive from the idempotency key, so the same key gives the same
// transaction id and outcome even across restarts. Within one process it
// also refuses a key reused for another request, and, as Stripe does,
// refunds (partial ones add up) beyond what the charge took. A charge it
// does not know (another process's sandbox made it: each function has its
// own) it refunds as asked; the payments store keeps the sum of an order's
// refunds within what was paid.
type Sandbox struct {
	mu       sync.Mutex
	charges  map[string]sandboxCharge // by idempotency key
	charged  map[string]int64         // transaction id -> amount charged (succeeded charges)
	refunds  map[string]sandboxRefund // by idempotency key
	refunded map[string]int64         // transaction id -> amount refunded so far
}

type sandboxCharge struct {
	req ChargeRequest
	res ChargeResult
}

type sandboxRefund struct {
	req RefundRequest
	res RefundResult
}

var _ Gateway = (*Sandbox)(nil)

// NewSandbox returns an empty sandbox gateway.
func NewSandbox() *Sandbox {
	return &Sandbox{
		charges:  map[string]sandboxCharge{},
		charged:  map[string]int64{},
		refunds:  map[string]sandboxRefund{},
		refunded: map[string]int64{},
	}
}

// Name is "sandbox".
func (s *Sandbox) Name() string { return SandboxName }

// SandboxMaxCharge is the largest amount the sandbox charges, as Stripe's
// (99,999,999 minor units): a larger order total is refused as a request
// (ErrRejected), which charge-payment answers with PAYMENT_FAILURE.
const SandboxMaxCharge = 99_999_999

// Charge decides by token: pm_card_visa succeeds, pm_card_chargeDeclined is
// declined (card_declined), pm_card_chargeDeclinedInsufficientFunds is
// declined (insufficient_funds), pm_card_authenticationRequired stays
// processing (a webhook settles it), any other token is declined
// (invalid_payment_method).
func (s *Sandbox) Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error) {
	if err := ctx.Err(); err != nil {
		return ChargeResult{}, fmt.Errorf("%w: sandbox charge: %w", ErrUnavailable, err)
	}
	if err := req.Validate(); err != nil {
		return ChargeResult{}, fmt.Errorf("sandbox charge: %w", err)
	}
	if req.Amount.Amount > SandboxMaxCharge {
		return ChargeResult{}, fmt.Errorf("sandbox charge: %w: amount %d is over the gateway's maximum %d", ErrRejected, req.Amount.Amount, SandboxMaxCharge)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.charges[req.IdempotencyKey]; ok {
		if prev.req != req {
			return ChargeResult{}, fmt.Errorf("sandbox charge: %w", ErrIdempotencyConflict)
		}
		return prev.res, nil
	}
	res := ChargeResult{TransactionID: sandboxChargePrefix + strings.ReplaceAll(ids.Derive(req.IdempotencyKey, "sandbox-charge"), "-", "")}
	switch req.Method {
	case TokenVisa:
		res.Outcome = Succeeded
		s.charged[res.TransactionID] = req.Amount.Amount
	case TokenDeclined:
		res.Outcome, res.Code, res.Reason = Declined, CodeCardDeclined, "Your card was declined."
	case TokenInsufficientFunds:
		res.Outcome, res.Code, res.Reason = Declined, CodeInsufficientFunds, "Your card has insufficient funds."
	case TokenAuthenticationRequired:
		res.Outcome = Processing
	default:
		res.Outcome, res.Code, res.Reason = Declined, CodeInvalidPaymentMethod, "The sandbox does not know this payment method."
	}
	s.charges[req.IdempotencyKey] = sandboxCharge{req: req, res: res}
	return res, nil
}

// Refund refunds a sandbox transaction, in full or in part.
func (s *Sandbox) Refund(ctx context.Context, req RefundRequest) (RefundResult, error) {
	if err := ctx.Err(); err != nil {
		return RefundResult{}, fmt.Errorf("%w: sandbox refund: %w", ErrUnavailable, err)
	}
	if err := req.Validate(); err != nil {
		return RefundResult{}, fmt.Errorf("sandbox refund: %w", err)
	}
	if !strings.HasPrefix(req.TransactionID, sandboxChargePrefix) {
		return RefundResult{}, fmt.Errorf("sandbox refund: %w: not a sandbox transaction", ErrRejected)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.refunds[req.IdempotencyKey]; ok {
		if prev.req != req {
			return RefundResult{}, fmt.Errorf("sandbox refund: %w", ErrIdempotencyConflict)
		}
		return prev.res, nil
	}
	before := s.refunded[req.TransactionID]
	if charged, known := s.charged[req.TransactionID]; known && before+req.Amount.Amount > charged {
		return RefundResult{}, fmt.Errorf("sandbox refund: %w: %d more than the %d left to refund", ErrRejected,
			req.Amount.Amount, charged-before)
	}
	res := RefundResult{RefundID: sandboxRefundPrefix + strings.ReplaceAll(ids.Derive(req.IdempotencyKey, "sandbox-refund"), "-", "")}
	s.refunds[req.IdempotencyKey] = sandboxRefund{req: req, res: res}
	s.refunded[req.TransactionID] = before + req.Amount.Amount
	return res, nil
}
