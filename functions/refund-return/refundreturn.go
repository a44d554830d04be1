// Package refundreturn is the refund-return function: on RETURN_RECEIVED it
// refunds the return's amount on the order's payment, once, as a partial
// refund through the gateway, and answers PAYMENT_REFUNDED with the
// returnId (stored, so a redelivery answers the same event). The refunds of
// an order's returns never add up to more than was paid.
package refundreturn

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

// Name is the function's name, and the source of its replies.
const Name = "refund-return"

// ErrRefundInFlight: another delivery of the same event is refunding now;
// the Broker retries.
var ErrRefundInFlight = errors.New("refund-return: the refund is in flight")

// New returns an unstarted refund-return: it opens the gateway and the payments
// database (paymentstore.OpenKit); the runtime keeps the database.
func New() *fn.Reaction[*paymentstore.Kit[*paymentstore.Store]] {
	return fn.On(Name, paymentstore.OpenKit[*paymentstore.Store](Name), handle)
}

// handle refunds a received return, at most once.
func handle(ctx context.Context, k *paymentstore.Kit[*paymentstore.Store], d events.ReturnReceivedData) (*event.Event, error) {
	log := fn.Logger(ctx).With("return_id", d.ReturnID, "order_id", d.OrderID)
	ctx = fn.WithLogger(ctx, log)
	r, err := k.Store.BeginReturnRefund(ctx, d.ReturnID, d.OrderID, d.Amount)
	if err != nil {
		// Nothing to refund from, or too much: retrying cannot change it,
		// a person must look (dead letter).
		return nil, fn.PermanentIf(fmt.Errorf("refund-return: %w", err), paymentstore.ErrNotRefundable, paymentstore.ErrOverRefund)
	}
	if reply, done, err := paymentstore.Turn(ctx, Name, r, answered,
		func(ctx context.Context) (bool, error) {
			return k.Store.ClaimReturnRefund(ctx, r.ReturnID, k.Config.Claim)
		},
		func(ctx context.Context) (paymentstore.ReturnRefund, error) {
			return k.Store.GetReturnRefund(ctx, r.ReturnID)
		},
		fmt.Errorf("%w: return %s", ErrRefundInFlight, r.ReturnID)); done {
		return reply, err
	}
	return refund(ctx, k, r)
}

// refund calls the gateway under a key derived from the return, then
// records the refund with its reply.
func refund(ctx context.Context, k *paymentstore.Kit[*paymentstore.Store], r paymentstore.ReturnRefund) (*event.Event, error) {
	cctx, cancel := context.WithTimeout(ctx, k.Config.Payment.Timeout)
	defer cancel()
	res, err := k.Gateway.Refund(cctx, payment.RefundRequest{
		IdempotencyKey: ids.Derive(r.ReturnID, "return-refund"), TransactionID: r.TransactionID, Amount: r.Amount,
	})
	if err != nil {
		release(ctx, k, r.ReturnID)
		return nil, fn.PermanentIf(fmt.Errorf("refund-return: return %s: %w", r.ReturnID, err), payment.ErrRejected, payment.ErrIdempotencyConflict)
	}
	reply, err := paymentstore.ReturnRefundedEvent(ctx, Name, r, res.RefundID, time.Now())
	if err != nil {
		release(ctx, k, r.ReturnID)
		return nil, fmt.Errorf("refund-return: %w", err)
	}
	now, err := k.Store.MarkReturnRefunded(ctx, r.ReturnID, res.RefundID, reply)
	if errors.Is(err, paymentstore.ErrStateChanged) {
		return now.Reply, nil
	}
	if err != nil {
		// The same key gives the same refund: a redelivery records it.
		release(ctx, k, r.ReturnID)
		return nil, fmt.Errorf("refund-return: %w", err)
	}
	fn.Logger(ctx).InfoContext(ctx, "return refunded", "refund_id", res.RefundID, "amount", r.Amount.String())
	return &reply, nil
}

// answered answers a refunded return with its stored reply.
func answered(r paymentstore.ReturnRefund) (*event.Event, bool, error) {
	return r.Reply, r.Status == paymentstore.Refunded, nil
}

// release drops the claim; failing that, it lapses by itself.
func release(ctx context.Context, k *paymentstore.Kit[*paymentstore.Store], returnID string) {
	if err := k.Store.ReleaseReturnRefund(context.WithoutCancel(ctx), returnID); err != nil {
		fn.Logger(ctx).WarnContext(ctx, "could not release the refund claim; it lapses by itself", "error", err)
	}
}
