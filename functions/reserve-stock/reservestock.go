// Package reservestock is the reserve-stock function: on ORDER_PLACED it
// reserves every item of the order, all or nothing, and answers
// STOCK_RESERVED or STOCK_REJECTED. The decision is kept with the order's
// hold in the catalog, and the reply's id is derived from the order, so a
// redelivered ORDER_PLACED gets the same reply again.
package reservestock

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
)

// Name is the function's name: its event source is /knshop/reserve-stock.
const Name = "reserve-stock"

// ErrBadOrder marks an ORDER_PLACED whose order id is not a knshop id.
var ErrBadOrder = errors.New("reservestock: bad order id")

// New returns an unstarted reserve-stock: it opens the catalog the
// configuration names.
func New() *fn.Reaction[*catalog.Store] { return fn.On(Name, catalog.OpenFrom, reserve) }

// reserve reserves the items of an ORDER_PLACED and answers with the outcome.
// An order that was cancelled before its stock was reserved gets no reply.
func reserve(ctx context.Context, s *catalog.Store, placed events.OrderPlacedData) (*event.Event, error) {
	if !ids.Valid(placed.OrderID) {
		return nil, fn.Permanent(fmt.Errorf("%w: %q", ErrBadOrder, placed.OrderID))
	}
	items := make([]catalog.Item, len(placed.Items))
	for i, it := range placed.Items {
		items[i] = catalog.Item{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	h, err := s.ReserveOrder(ctx, placed.OrderID, items)
	if err != nil {
		return nil, fmt.Errorf("reservestock: order %s: %w", placed.OrderID, err)
	}
	log := fn.Logger(ctx).With("order_id", placed.OrderID, "hold", h.Status)
	var d events.Data
	switch h.Status {
	case catalog.StatusReserved:
		d = reserved(placed, h)
	case catalog.StatusRejected:
		d = rejected(placed, h)
	default:
		log.InfoContext(ctx, "order was cancelled before its stock was reserved; no reply")
		return nil, nil
	}
	reply, err := events.New(ctx, Name, d)
	if err != nil {
		return nil, fmt.Errorf("reservestock: order %s: %w", placed.OrderID, err)
	}
	// Every delivery of this order answers with the same event.
	reply.SetID(ids.Derive(placed.OrderID, string(d.EventType())))
	log.InfoContext(ctx, "stock decision", "reply", reply.Type())
	return &reply, nil
}

func reserved(placed events.OrderPlacedData, h catalog.Hold) events.StockReservedData {
	items := make([]events.Item, len(h.Items))
	for i, it := range h.Items {
		items[i] = events.Item{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return events.StockReservedData{
		OrderID: placed.OrderID, CustomerID: placed.CustomerID, Items: items, Total: placed.Total,
		PaymentMethod: placed.PaymentMethod, ShippingAddress: placed.ShippingAddress,
	}
}

func rejected(placed events.OrderPlacedData, h catalog.Hold) events.StockRejectedData {
	shortages := make([]events.Shortage, len(h.Shortages))
	for i, s := range h.Shortages {
		shortages[i] = events.Shortage{ProductID: s.ProductID, Requested: s.Requested, Available: s.Available}
	}
	return events.StockRejectedData{OrderID: placed.OrderID, CustomerID: placed.CustomerID, Shortages: shortages}
}
