// Package confirmorder is the event function that moves an order forward
// on the saga's good news: STOCK_RESERVED makes it RESERVED and
// PAYMENT_SUCCESS makes it PAID (recording the payment). The two reactions
// come from independent Triggers, so PAYMENT_SUCCESS may be applied first;
// the late STOCK_RESERVED is then acknowledged and ignored.
//
// Good news for an order that was cancelled meanwhile (the customer
// cancelled while stock was being reserved or the card charged) must not be
// lost: the reply announces the cancellation again, as ORDER_CANCELLED with
// an id derived from the order and the late event's type, so release-stock
// and refund-payment undo the reservation or the charge that came after it.
package confirmorder

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
const Name = "confirm-order"

// New returns the function, unstarted (orderstep.New).
func New() *fn.Reaction[*orderstore.Store] {
	return orderstep.New(Name, change, orderstep.Forward(announceAgain))
}

// announceAgain answers a STOCK_RESERVED or PAYMENT_SUCCESS for an order
// that is cancelled with its ORDER_CANCELLED again.
func announceAgain(ctx context.Context, e event.Event, a orderstore.Advanced) (*event.Event, error) {
	fn.Logger(ctx).WarnContext(ctx, "good news for a cancelled order; announcing the cancellation again", "event_type", e.Type())
	reply, err := orderstore.CancelledEvent(ctx, Name, a.Order, e.Type())
	if err != nil {
		return nil, fmt.Errorf("confirmorder: reply: %w", err)
	}
	return &reply, nil
}

// change reads the move an event asks for.
func change(e event.Event) (string, orderstore.Change, error) {
	switch events.Type(e.Type()) {
	case events.StockReserved:
		var d events.StockReservedData
		if err := events.Decode(e, &d); err != nil {
			return "", orderstore.Change{}, err
		}
		return d.OrderID, orderstore.Change{To: orderstore.Reserved, At: time.Now()}, nil
	case events.PaymentSuccess:
		var d events.PaymentSuccessData
		if err := events.Decode(e, &d); err != nil {
			return "", orderstore.Change{}, err
		}
		return d.OrderID, orderstore.Change{To: orderstore.Paid, At: time.Now(),
			Payment: &orderstore.Payment{ID: d.PaymentID, Status: paymentstore.Succeeded}}, nil
	}
	return "", orderstore.Change{}, fmt.Errorf("%w: type %s", events.ErrInvalid, e.Type())
}
