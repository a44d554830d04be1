package orderstore

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/areadb"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/sqlstore"
)

// DatabaseKey names the cfg entry that overrides the database name
// (areadb's rule): tests give each run its own database with it.
var DatabaseKey = areadb.Key(Database)

// ConfigFrom reads where the orders database lives from a function's cfg:
// MYSQL_DSN, KNSHOP_SERIALIZE_DB and, optionally, ORDERS_DATABASE.
func ConfigFrom(cfg map[string]string) (sqlstore.Config, error) {
	return sqlstore.ConfigFrom(cfg, Database)
}

// The events about an order carry ids derived from the order, so building
// one again (a retry, a redelivery, a reply answered once more) yields the
// same CloudEvent id and consumers can drop the repeat.

// PlacedEvent is ORDER_PLACED for o, sent by function.
func PlacedEvent(ctx context.Context, function string, o Order) (event.Event, error) {
	items := make([]events.PricedItem, len(o.Items))
	for i, it := range o.Items {
		items[i] = events.PricedItem{ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
	}
	return withID(ctx, function, eventID(o.ID, events.OrderPlaced, ""), events.OrderPlacedData{
		OrderID: o.ID, CustomerID: o.CustomerID, Items: items, Total: o.Total,
		ShippingAddress: o.ShippingAddress, PaymentMethod: o.PaymentMethod, PlacedAt: o.CreatedAt,
	})
}

// CancelledEvent is ORDER_CANCELLED for a cancelled o. again names why it is
// announced once more ("" for the cancellation itself): a late
// STOCK_RESERVED or PAYMENT_SUCCESS for a cancelled order re-announces the
// cancellation under a new id, so release-stock and refund-payment undo what
// happened after it.
func CancelledEvent(ctx context.Context, function string, o Order, again string) (event.Event, error) {
	reason := ""
	if o.CancelReason != nil {
		reason = *o.CancelReason
	}
	at, ok := o.At(Cancelled)
	if !ok {
		return event.Event{}, fmt.Errorf("orderstore: order %s is %s, not cancelled", o.ID, o.Status)
	}
	return withID(ctx, function, eventID(o.ID, events.OrderCancelled, again), events.OrderCancelledData{
		OrderID: o.ID, CustomerID: o.CustomerID, Reason: reason, CancelledAt: at,
	})
}

// CompletedEvent is ORDER_COMPLETED for a completed o, with what it
// delivered and the customer's name (for record-purchase).
func CompletedEvent(ctx context.Context, function string, o Order) (event.Event, error) {
	at, ok := o.At(Completed)
	if !ok {
		return event.Event{}, fmt.Errorf("orderstore: order %s is %s, not completed", o.ID, o.Status)
	}
	items := make([]events.Item, len(o.Items))
	for i, it := range o.Items {
		items[i] = events.Item{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return withID(ctx, function, eventID(o.ID, events.OrderCompleted, ""), events.OrderCompletedData{
		OrderID: o.ID, CustomerID: o.CustomerID, CustomerName: o.CustomerName, Items: items, CompletedAt: at,
	})
}

// AnnouncePlaced announces the order a change places with PlacedEvent.
func AnnouncePlaced(ctx context.Context, function string) Announce {
	return func(o Order) ([]event.Event, error) {
		e, err := PlacedEvent(ctx, function, o)
		return []event.Event{e}, err
	}
}

// AnnounceCancelled announces the order a change cancels with
// CancelledEvent (the cancellation itself, not a repeat).
func AnnounceCancelled(ctx context.Context, function string) Announce {
	return func(o Order) ([]event.Event, error) {
		e, err := CancelledEvent(ctx, function, o, "")
		return []event.Event{e}, err
	}
}

func eventID(orderID string, t events.Type, again string) string {
	name := string(t)
	if again != "" {
		name += "/" + again
	}
	return ids.Derive(orderID, name)
}

func withID(ctx context.Context, function, id string, d events.Data) (event.Event, error) {
	e, err := events.New(ctx, function, d)
	if err != nil {
		return event.Event{}, err
	}
	e.SetID(id)
	return e, nil
}
