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
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/functions/internal/orderstep"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/paymentstore"
)

// Name is the function's name, and the source of its replies.
const Name = "cancel-order"

// New returns the function, unstarted (orderstep.New).
func New() *fn.Reaction[*orderstore.Store] { return orderstep.New(Name, change, answer) }

// answer cancels the order of a STOCK_REJECTED or PAYMENT_FAILURE.
func answer(ctx context.Context, e event.Event, a orderstore.Advanced) (*event.Event, error) {
	log := fn.Logger(ctx)
	reason := reasons[events.Type(e.Type())]
	sameCause := a.Order.CancelReason != nil && *a.Order.CancelReason == reason
	switch {
	case a.Outcome == orderstore.Applied:
		log.InfoContext(ctx, "order cancelled", "reason", reason)
	case a.Outcome == orderstore.AlreadyThere && sameCause:
		log.InfoContext(ctx, "order was already cancelled for this cause; answering again", "reason", reason)
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

// reasons are the cancel reasons of the events that cancel an order.
var reasons = map[events.Type]string{
	events.StockRejected:  events.ReasonOutOfStock,
	events.PaymentFailure: events.ReasonPaymentFailed,
}

// change reads the cancellation an event asks for.
func change(e event.Event) (string, orderstore.Change, error) {
	c := orderstore.Change{To: orderstore.Cancelled, Reason: reasons[events.Type(e.Type())], At: time.Now(), From: orderstore.UnpaidStates}
	switch events.Type(e.Type()) {
	case events.StockRejected:
		var d events.StockRejectedData
		if err := events.Decode(e, &d); err != nil {
			return "", orderstore.Change{}, err
		}
		return d.OrderID, c, nil
	case events.PaymentFailure:
		var d events.PaymentFailureData
		if err := events.Decode(e, &d); err != nil {
			return "", orderstore.Change{}, err
		}
		c.Payment = &orderstore.Payment{ID: d.PaymentID, Status: paymentstore.Failed}
		return d.OrderID, c, nil
	}
	return "", orderstore.Change{}, fmt.Errorf("%w: type %s", events.ErrInvalid, e.Type())
}
