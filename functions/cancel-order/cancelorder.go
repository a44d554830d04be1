// Package cancelorder is the event function that cancels an order the saga
// cannot complete: STOCK_REJECTED cancels it with reason out_of_stock,
// PAYMENT_FAILURE with reason payment_failed (recording the failed payment).
// It replies ORDER_CANCELLED, with an id derived from the order, so a
// redelivery after the cancellation committed answers with the same event
// again rather than with nothing. An order that already moved on (paid,
// shipping, cancelled for another reason) is acknowledged and left alone.
package cancelorder

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/orderstore"
)

// Name is the function's name, and the source of its replies.
const Name = "cancel-order"

// PaymentFailed is the payment status an order records for PAYMENT_FAILURE.
const PaymentFailed = "FAILED"

// Function is cancel-order.
type Function struct {
	store *orderstore.Store
	now   func() time.Time
}

// New returns the function, unstarted.
func New() *Function { return &Function{now: time.Now} }

// Start opens the orders database.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	s, err := orderstore.OpenFrom(ctx, cfg)
	if err != nil {
		return fmt.Errorf("cancelorder: start: %w", err)
	}
	f.store = s
	return nil
}

// Stop releases the database.
func (f *Function) Stop(ctx context.Context) error { return f.store.Close() }

// Ready reports whether the database answers.
func (f *Function) Ready(ctx context.Context) (bool, error) { return f.store.Ping(ctx) == nil, nil }

// Handle cancels the order of a STOCK_REJECTED or PAYMENT_FAILURE.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	orderID, change, err := f.change(e)
	if err != nil {
		return nil, fn.Permanent(err)
	}
	log := fn.Logger(ctx).With("order_id", orderID)
	a, err := f.store.Advance(ctx, orderID, change, nil)
	if errors.Is(err, orderstore.ErrNotFound) {
		return nil, fn.Permanent(fmt.Errorf("cancelorder: %w", err))
	}
	if err != nil {
		return nil, fmt.Errorf("cancelorder: %w", err)
	}
	sameCause := a.Order.CancelReason != nil && *a.Order.CancelReason == change.Reason
	switch {
	case a.Outcome == orderstore.Applied:
		log.InfoContext(ctx, "order cancelled", "reason", change.Reason)
	case a.Outcome == orderstore.AlreadyThere && sameCause:
		log.InfoContext(ctx, "order was already cancelled for this cause; answering again", "reason", change.Reason)
	default:
		log.WarnContext(ctx, "event ignored: the order cannot be cancelled for it", "status", a.Order.Status, "outcome", a.Outcome.String())
		return nil, nil
	}
	reply, err := orderstore.CancelledEvent(ctx, Name, a.Order, "")
	if err != nil {
		return nil, fmt.Errorf("cancelorder: reply: %w", err)
	}
	return &reply, nil
}

// unpaid are the states a failed reservation or payment can cancel: once
// paid, neither can be about this order's current course any more.
var unpaid = []orderstore.Status{orderstore.Pending, orderstore.Reserved}

// change reads the cancellation an event asks for.
func (f *Function) change(e event.Event) (string, orderstore.Change, error) {
	switch events.Type(e.Type()) {
	case events.StockRejected:
		var d events.StockRejectedData
		if err := events.Decode(e, &d); err != nil {
			return "", orderstore.Change{}, err
		}
		return d.OrderID, orderstore.Change{To: orderstore.Cancelled, Reason: events.ReasonOutOfStock, At: f.now(), From: unpaid}, nil
	case events.PaymentFailure:
		var d events.PaymentFailureData
		if err := events.Decode(e, &d); err != nil {
			return "", orderstore.Change{}, err
		}
		return d.OrderID, orderstore.Change{To: orderstore.Cancelled, Reason: events.ReasonPaymentFailed, At: f.now(), From: unpaid,
			Payment: &orderstore.Payment{ID: d.PaymentID, Status: PaymentFailed}}, nil
	}
	return "", orderstore.Change{}, fmt.Errorf("cancelorder: %w: type %s", events.ErrInvalid, e.Type())
}
