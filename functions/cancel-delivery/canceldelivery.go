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

// Config is what cancel-delivery reads at start.
type Config struct {
	Store sqlstore.Config
}

// ConfigFrom reads MYSQL_DSN and KNSHOP_SERIALIZE_DB.
func ConfigFrom(cfg map[string]string) (Config, error) {
	sc, err := sqlstore.ConfigFrom(cfg, deliverystore.Database)
	if err != nil {
		return Config{}, fmt.Errorf("canceldelivery: config: %w", err)
	}
	return Config{Store: sc}, nil
}

// canceller is what the function needs of the deliveries database.
type canceller interface {
	CancelOrder(ctx context.Context, orderID, reason string, at time.Time) (deliverystore.Cancellation, error)
}

// Function is cancel-delivery.
type Function struct {
	store canceller // the deliveries database (kept with fn.Use), behind what Handle needs
}

// New returns an unstarted cancel-delivery.
func New() *Function { return &Function{} }

// Start reads the configuration and opens (and migrates) the deliveries
// database.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	c, err := ConfigFrom(cfg)
	if err != nil {
		return err
	}
	return f.startWith(ctx, c)
}

func (f *Function) startWith(ctx context.Context, c Config) error {
	store, err := deliverystore.Open(ctx, c.Store)
	if err := fn.Use(ctx, store, err); err != nil {
		return fmt.Errorf("canceldelivery: start: %w", err)
	}
	f.store = store
	return nil
}

// Handle cancels the delivery side of a cancelled order. It never replies;
// a store failure is retried by the Broker, and a repeated event changes
// nothing.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var d events.OrderCancelledData
	if err := events.Decode(e, &d); err != nil {
		return nil, fmt.Errorf("canceldelivery: %w", err)
	}
	c, err := f.store.CancelOrder(ctx, d.OrderID, d.Reason, d.CancelledAt)
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
