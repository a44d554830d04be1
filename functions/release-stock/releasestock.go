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

// New returns an unstarted release-stock: it opens the catalog the
// configuration names.
func New() *fn.Reaction[*catalog.Store] { return fn.On(Name, catalog.OpenFrom, release) }

// release gives back the stock of a cancelled order. It has no reply.
func release(ctx context.Context, s *catalog.Store, cancelled events.OrderCancelledData) (*event.Event, error) {
	if !ids.Valid(cancelled.OrderID) {
		return nil, fn.Permanent(fmt.Errorf("%w: %q", ErrBadOrder, cancelled.OrderID))
	}
	n, err := s.CancelOrder(ctx, cancelled.OrderID)
	if err != nil {
		return nil, fmt.Errorf("releasestock: order %s: %w", cancelled.OrderID, err)
	}
	fn.Logger(ctx).InfoContext(ctx, "stock released", "order_id", cancelled.OrderID,
		"units", n, "reason", cancelled.Reason)
	return nil, nil
}
