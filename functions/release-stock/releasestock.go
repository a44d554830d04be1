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
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/mongostore"
)

// Name is the function's name.
const Name = "release-stock"

// ErrBadOrder marks an ORDER_CANCELLED whose order id is not a knshop id.
var ErrBadOrder = errors.New("releasestock: bad order id")

// Function is release-stock.
type Function struct {
	cfg   mongostore.Config
	db    *mongo.Database
	store *catalog.Store
}

// New returns an unstarted release-stock.
func New() *Function { return &Function{} }

// Start reads MONGODB_URI and KNSHOP_SERIALIZE_DB and opens the catalog.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	c, err := mongostore.ConfigFrom(cfg, catalog.Database)
	if err != nil {
		return fmt.Errorf("releasestock: config: %w", err)
	}
	return f.startWith(ctx, c)
}

// startWith opens the catalog c names.
func (f *Function) startWith(ctx context.Context, c mongostore.Config) error {
	db, err := mongostore.Open(ctx, c)
	if err != nil {
		return fmt.Errorf("releasestock: start: %w", err)
	}
	store, err := catalog.New(ctx, db)
	if err != nil {
		return fmt.Errorf("releasestock: start: %w", err)
	}
	f.cfg, f.db, f.store = c, db, store
	return nil
}

// Stop disconnects, unless the client is the process's shared serialized
// one, which other functions still use.
func (f *Function) Stop(ctx context.Context) error {
	if f.db == nil || f.cfg.Serialize {
		return nil
	}
	if err := f.db.Client().Disconnect(ctx); err != nil {
		return fmt.Errorf("releasestock: stop: %w", err)
	}
	return nil
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
