// Package restockreturn is the restock-return function: on RETURN_RECEIVED
// it puts the return's units back in stock, once per return
// (catalog.RestockReturn). It has no reply: the units are back or the
// Broker retries.
package restockreturn

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
)

// Name is the function's name.
const Name = "restock-return"

// New returns an unstarted restock-return: it opens the catalog the
// configuration names.
func New() *fn.Reaction[*catalog.Store] { return fn.On(Name, catalog.OpenFrom, restock) }

// restock restocks the units of a received return.
func restock(ctx context.Context, s *catalog.Store, d events.ReturnReceivedData) (*event.Event, error) {
	if !ids.Valid(d.ReturnID) {
		return nil, fn.Permanent(fmt.Errorf("restockreturn: bad return id %q", d.ReturnID))
	}
	items := make([]catalog.Item, len(d.Items))
	for i, it := range d.Items {
		items[i] = catalog.Item{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	n, err := s.RestockReturn(ctx, d.ReturnID, items)
	if err != nil {
		return nil, fmt.Errorf("restockreturn: return %s: %w", d.ReturnID, err)
	}
	fn.Logger(ctx).InfoContext(ctx, "return restocked", "return_id", d.ReturnID, "order_id", d.OrderID, "units", n)
	return nil, nil
}
