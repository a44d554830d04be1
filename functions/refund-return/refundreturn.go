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

// Function is refund-return.
type Function struct {
	cfg     paymentstore.StepConfig
	store   *paymentstore.Store
	gateway payment.Gateway
}

// New returns an unstarted refund-return.
func New() *Function { return &Function{} }

// Start reads the step's configuration once and opens the gateway and the
// payments database (paymentstore.OpenStep); the runtime keeps the database.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	c, db, gw, err := paymentstore.OpenStep(ctx, cfg, Name)
	if err := fn.Use(ctx, db, err); err != nil {
		return err
	}
	f.cfg, f.store, f.gateway = c, db, gw
	return nil
}

// Handle refunds a received return, at most once.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var d events.ReturnReceivedData
	if err := events.Decode(e, &d); err != nil {
		return nil, fn.Permanent(fmt.Errorf("refund-return: %w", err))
	}
	log := fn.Logger(ctx).With("return_id", d.ReturnID, "order_id", d.OrderID)
	ctx = fn.WithLogger(ctx, log)
	r, err := f.store.BeginReturnRefund(ctx, d.ReturnID, d.OrderID, d.Amount)
	if err != nil {
		// Nothing to refund from, or too much: retrying cannot change it,
		// a person must look (dead letter).
		return nil, fn.PermanentIf(fmt.Errorf("refund-return: %w", err), paymentstore.ErrNotRefundable, paymentstore.ErrOverRefund)
	}
	if r.Status == paymentstore.Refunded {
		return r.Reply, nil
	}
	ok, err := f.store.ClaimReturnRefund(ctx, r.ReturnID, f.cfg.Claim)
	if err != nil {
		return nil, fmt.Errorf("refund-return: %w", err)
	}
	if !ok {
		now, err := f.store.GetReturnRefund(ctx, r.ReturnID)
		if err != nil {
			return nil, fmt.Errorf("refund-return: %w", err)
		}
		if now.Status == paymentstore.Refunded {
			return now.Reply, nil
		}
		return nil, fmt.Errorf("%w: return %s", ErrRefundInFlight, r.ReturnID)
	}
	return f.refund(ctx, r)
}

// refund calls the gateway under a key derived from the return, then
// records the refund with its reply.
func (f *Function) refund(ctx context.Context, r paymentstore.ReturnRefund) (*event.Event, error) {
	cctx, cancel := context.WithTimeout(ctx, f.cfg.Payment.Timeout)
	defer cancel()
	res, err := f.gateway.Refund(cctx, payment.RefundRequest{
		IdempotencyKey: ids.Derive(r.ReturnID, "return-refund"), TransactionID: r.TransactionID, Amount: r.Amount,
	})
	if err != nil {
		f.release(ctx, r.ReturnID)
		return nil, fn.PermanentIf(fmt.Errorf("refund-return: return %s: %w", r.ReturnID, err), payment.ErrRejected, payment.ErrIdempotencyConflict)
	}
	reply, err := paymentstore.ReturnRefundedEvent(ctx, Name, r, res.RefundID, time.Now())
	if err != nil {
		f.release(ctx, r.ReturnID)
		return nil, fmt.Errorf("refund-return: %w", err)
	}
	now, err := f.store.MarkReturnRefunded(ctx, r.ReturnID, res.RefundID, reply)
	if errors.Is(err, paymentstore.ErrStateChanged) {
		return now.Reply, nil
	}
	if err != nil {
		// The same key gives the same refund: a redelivery records it.
		f.release(ctx, r.ReturnID)
		return nil, fmt.Errorf("refund-return: %w", err)
	}
	fn.Logger(ctx).InfoContext(ctx, "return refunded", "refund_id", res.RefundID, "amount", r.Amount.String())
	return &reply, nil
}

// release drops the claim; failing that, it lapses by itself.
func (f *Function) release(ctx context.Context, returnID string) {
	if err := f.store.ReleaseReturnRefund(context.WithoutCancel(ctx), returnID); err != nil {
		fn.Logger(ctx).WarnContext(ctx, "could not release the refund claim; it lapses by itself", "error", err)
	}
}
