// Package canceldelivery is the cancel-delivery function: on ORDER_CANCELLED
// it makes sure the order is not delivered. A STARTED delivery becomes
// CANCELLED (the partner's later steps are refused); an order without a
// delivery gets a tombstone, so a PAYMENT_SUCCESS that reaches
// start-delivery afterwards creates none. A delivery already COURIERED or
// DELIVERED is left alone: the order side refuses cancellation from
// SHIPPING on, so that is a race the function only logs. No event type
// exists for a cancelled delivery, so the function answers nothing.
package canceldelivery

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Name is the function's name.
const Name = "cancel-delivery"

// canceller is what the function needs of the deliveries database.
type canceller interface {
	CancelOrder(ctx context.Context, orderID, reason string, at time.Time) (deliverystore.Cancellation, error)
}

// New returns an unstarted cancel-delivery: it opens (and migrates) the
// deliveries database (MYSQL_DSN, KNSHOP_SERIALIZE_DB).
func New() *fn.Reaction[canceller] {
	return fn.On(Name, sqlstore.From(deliverystore.Database, open), cancel)
}

func open(ctx context.Context, c sqlstore.Config) (canceller, error) {
	s, err := deliverystore.Open(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("canceldelivery: start: %w", err)
	}
	return s, nil
}

// cancel cancels the delivery side of a cancelled order. It never replies;
// a store failure is retried by the Broker, and a repeated event changes
// nothing.
func cancel(ctx context.Context, s canceller, d events.OrderCancelledData) (*event.Event, error) {
	c, err := s.CancelOrder(ctx, d.OrderID, d.Reason, d.CancelledAt)
	if err != nil {
		return nil, fmt.Errorf("canceldelivery: %w", err)
	}
	log := fn.Logger(ctx).With("order_id", d.OrderID, "reason", d.Reason)
	switch c.Outcome {
	case deliverystore.NoDelivery:
		log.InfoContext(ctx, "no delivery yet; none will be started for this order")
	case deliverystore.CancelledNow:
		log.InfoContext(ctx, "delivery cancelled", "delivery_id", c.Delivery.ID)
	case deliverystore.AlreadyCancelled:
		log.InfoContext(ctx, "delivery was cancelled before; nothing changed", "delivery_id", c.Delivery.ID)
	case deliverystore.TooLate:
		log.WarnContext(ctx, "order cancelled while its delivery is under way; the delivery goes on",
			"delivery_id", c.Delivery.ID, "status", c.Delivery.Status)
	}
	return nil, nil
}
