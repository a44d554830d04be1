// Package trackorder is the event function that follows an order's
// delivery: DELIVERY_STARTED makes it SHIPPING and DELIVERY_COURIERED_PARTNER
// makes it IN_TRANSIT, recording the delivery's id, status and tracking
// number. A step that arrives after a later one (or after the order was
// cancelled or completed) is acknowledged and ignored; a later step may
// overtake an earlier one (PAID → IN_TRANSIT), since each proves the ones
// before it happened.
package trackorder

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/functions/internal/orderstep"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/orderstore"
)

// Name is the function's name.
const Name = "track-order"

// New returns the function, unstarted (orderstep.New).
func New() *fn.Reaction[*orderstore.Store] {
	return orderstep.New(Name, change, orderstep.Forward(ignore))
}

// ignore answers a DELIVERY_STARTED or DELIVERY_COURIERED_PARTNER for an
// order that is cancelled: with nothing (cancel-delivery stops the
// delivery). track-order never replies.
func ignore(ctx context.Context, e event.Event, _ orderstore.Advanced) (*event.Event, error) {
	fn.Logger(ctx).WarnContext(ctx, "delivery news for a cancelled order; ignored", "event_type", e.Type())
	return nil, nil
}

// change reads the move an event asks for.
func change(e event.Event) (string, orderstore.Change, error) {
	switch events.Type(e.Type()) {
	case events.DeliveryStarted:
		var d events.DeliveryStartedData
		if err := events.Decode(e, &d); err != nil {
			return "", orderstore.Change{}, err
		}
		return d.OrderID, orderstore.Change{To: orderstore.Shipping, At: time.Now(),
			Delivery: &orderstore.Delivery{ID: d.DeliveryID, Status: deliverystore.Started}}, nil
	case events.DeliveryCourieredPartner:
		var d events.DeliveryCourieredPartnerData
		if err := events.Decode(e, &d); err != nil {
			return "", orderstore.Change{}, err
		}
		return d.OrderID, orderstore.Change{To: orderstore.InTransit, At: time.Now(),
			Delivery: &orderstore.Delivery{ID: d.DeliveryID, Status: deliverystore.Couriered, TrackingNumber: d.TrackingNumber}}, nil
	}
	return "", orderstore.Change{}, fmt.Errorf("%w: type %s", events.ErrInvalid, e.Type())
}
