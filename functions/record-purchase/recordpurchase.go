// Package recordpurchase is the record-purchase function: on ORDER_COMPLETED
// it remembers that the customer received each product of the order, so
// the reviews function can tell buyers from others. Recording is
// idempotent: a purchase already known is kept as it is.
package recordpurchase

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
)

// Name is the function's name.
const Name = "record-purchase"

// New returns an unstarted record-purchase: it opens the catalog, where
// purchases are kept beside the reviews.
func New() *fn.Reaction[*catalog.Store] { return fn.On(Name, catalog.OpenFrom, record) }

// record records the purchases of a completed order. An ORDER_COMPLETED
// without items (from before they were carried) records nothing.
func record(ctx context.Context, s *catalog.Store, d events.OrderCompletedData) (*event.Event, error) {
	products := make([]string, 0, len(d.Items))
	for _, it := range d.Items {
		products = append(products, it.ProductID)
	}
	if err := s.RecordPurchase(ctx, d.CustomerID, d.CustomerName, products, d.CompletedAt); err != nil {
		return nil, fmt.Errorf("recordpurchase: order %s: %w", d.OrderID, err)
	}
	fn.Logger(ctx).InfoContext(ctx, "purchases recorded", "order_id", d.OrderID, "products", len(products))
	return nil, nil
}
