// Package refundpayment is the refund-payment function: on ORDER_CANCELLED
// it refunds the order's captured payment once and answers PAYMENT_REFUNDED
// (stored, so a redelivery answers the same event). An order cancelled
// before its charge gets a tombstone, so charge-payment never charges it.
package refundpayment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/payment"
	"github.com/knshop/knshop/lib/paymentstore"
)

// Name is the function's name.
const Name = "refund-payment"

// ErrChargeInFlight: the order's charge has not settled yet; the Broker
// retries and the refund follows once it has.
var ErrChargeInFlight = errors.New("refund-payment: the charge has not settled yet")

// ErrRefundInFlight: another delivery of the same event is refunding now.
var ErrRefundInFlight = errors.New("refund-payment: the refund is in flight")

// store is what the function needs of the payments database.
type store interface {
	CancelOrder(ctx context.Context, orderID string) (paymentstore.Payment, bool, error)
	Get(ctx context.Context, id string) (paymentstore.Payment, error)
	Claim(ctx context.Context, id string, from paymentstore.Status, d time.Duration) (bool, error)
	Release(ctx context.Context, id, transactionID string) error
	MarkRefunded(ctx context.Context, id, refundID string, reply event.Event) (paymentstore.Payment, error)
}

// New returns an unstarted refund-payment: it opens the gateway and the payments
// database (paymentstore.OpenKit); the runtime keeps the database.
func New() *fn.Reaction[*paymentstore.Kit[store]] {
	return fn.On(Name, paymentstore.OpenKit[store](Name), handle)
}

// handle refunds the payment of a cancelled order, at most once.
func handle(ctx context.Context, k *paymentstore.Kit[store], d events.OrderCancelledData) (*event.Event, error) {
	log := fn.Logger(ctx).With("order_id", d.OrderID, "reason", d.Reason)
	ctx = fn.WithLogger(ctx, log)
	p, found, err := k.Store.CancelOrder(ctx, d.OrderID)
	if err != nil {
		return nil, fmt.Errorf("refund-payment: %w", err)
	}
	if !found {
		log.InfoContext(ctx, "no payment yet; the order will not be charged")
		return nil, nil
	}
	if reply, done, err := paymentstore.Turn(ctx, Name, p, answered,
		func(ctx context.Context) (bool, error) {
			return k.Store.Claim(ctx, p.ID, paymentstore.Succeeded, k.Config.Claim)
		},
		func(ctx context.Context) (paymentstore.Payment, error) { return k.Store.Get(ctx, p.ID) },
		fmt.Errorf("%w: payment %s", ErrRefundInFlight, p.ID)); done {
		return reply, err
	}
	return refund(ctx, k, p)
}

// refund calls the gateway under a key derived from the payment, then
// records the refund with its reply.
func refund(ctx context.Context, k *paymentstore.Kit[store], p paymentstore.Payment) (*event.Event, error) {
	log := fn.Logger(ctx).With("payment_id", p.ID)
	cctx, cancel := context.WithTimeout(ctx, k.Config.Payment.Timeout)
	defer cancel()
	res, err := k.Gateway.Refund(cctx, payment.RefundRequest{
		IdempotencyKey: ids.Derive(p.ID, "refund"), TransactionID: p.TransactionID, Amount: p.Amount,
	})
	if err != nil {
		release(ctx, k, p.ID)
		// A refund the gateway refuses for good: a person must look at it,
		// the dead-letter sink keeps it.
		return nil, fn.PermanentIf(fmt.Errorf("refund-payment: payment %s: %w", p.ID, err), payment.ErrRejected, payment.ErrIdempotencyConflict)
	}
	reply, err := paymentstore.RefundedEvent(ctx, Name, p, res.RefundID, time.Now())
	if err != nil {
		release(ctx, k, p.ID)
		return nil, fmt.Errorf("refund-payment: %w", err)
	}
	now, err := k.Store.MarkRefunded(ctx, p.ID, res.RefundID, reply)
	if errors.Is(err, paymentstore.ErrStateChanged) {
		r, _, aerr := answered(now)
		return r, aerr
	}
	if err != nil {
		// The same key gives the same refund: a redelivery records it.
		release(ctx, k, p.ID)
		return nil, fmt.Errorf("refund-payment: %w", err)
	}
	log.InfoContext(ctx, "payment refunded", "refund_id", res.RefundID)
	return &reply, nil
}

// answered tells what a payment not awaiting a refund answers: the stored
// PAYMENT_REFUNDED, nothing for a failed charge, a retry for a charge that
// has not settled.
func answered(p paymentstore.Payment) (*event.Event, bool, error) {
	switch p.Status {
	case paymentstore.Refunded:
		if p.RefundReply == nil {
			return nil, true, fmt.Errorf("refund-payment: payment %s is refunded without its reply", p.ID)
		}
		return p.RefundReply, true, nil
	case paymentstore.Failed:
		return nil, true, nil
	case paymentstore.Pending:
		return nil, true, fmt.Errorf("%w: payment %s", ErrChargeInFlight, p.ID)
	}
	return nil, false, nil
}

// release drops the claim; failing that, it lapses by itself.
func release(ctx context.Context, k *paymentstore.Kit[store], id string) {
	if err := k.Store.Release(context.WithoutCancel(ctx), id, ""); err != nil {
		fn.Logger(ctx).WarnContext(ctx, "could not release the refund claim; it lapses by itself", "error", err)
	}
}
