// Package releasestock is the release-stock function: on ORDER_CANCELLED it
// gives back, once, the stock the order holds. An order that holds nothing
// (rejected, or cancelled before reserve-stock saw it) is a no-op for the
// stock, and is barred from reserving later.
package releasestock

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

// Name is the function's name.
const Name = "release-stock"

// ErrBadOrder marks an ORDER_CANCELLED whose order id is not a knshop id.
var ErrBadOrder = errors.New("releasestock: bad order id")

// Function is release-stock.
type Function struct {
	store *catalog.Store // the catalog, kept with fn.Use
}

// New returns an unstarted release-stock.
func New() *Function { return &Function{} }

// Start opens the catalog the configuration names; the runtime keeps it
// (fn.Use).
func (f *Function) Start(ctx context.Context, cfg map[string]string) (err error) {
	f.store, err = catalog.OpenFrom(ctx, cfg)
	return fn.Use(ctx, f.store, err)
}

// Handle gives back the stock of a cancelled order. It has no reply.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var cancelled events.OrderCancelledData
	if err := events.Decode(e, &cancelled); err != nil {
		return nil, fmt.Errorf("releasestock: %w", err)
	}
	if !ids.Valid(cancelled.OrderID) {
		return nil, fn.Permanent(fmt.Errorf("%w: %q", ErrBadOrder, cancelled.OrderID))
	}
	n, err := f.store.CancelOrder(ctx, cancelled.OrderID)
	if err != nil {
		return nil, fmt.Errorf("releasestock: order %s: %w", cancelled.OrderID, err)
	}
	fn.Logger(ctx).InfoContext(ctx, "stock released", "order_id", cancelled.OrderID,
		"units", n, "reason", cancelled.Reason)
	return nil, nil
}
