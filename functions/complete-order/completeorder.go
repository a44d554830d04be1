// Package completeorder is the event function that closes an order once
// its delivery is done: on DELIVERY_COMPLETED the stock the order reserved
// becomes sold (catalog, MongoDB) and the order becomes COMPLETED (orders,
// MySQL), and the reply is ORDER_COMPLETED. The two stores share no
// transaction, so each step is idempotent on its own and done in order: the
// order is moved to IN_TRANSIT first (out of reach of a cancellation, such
// as its payment deadline when PAYMENT_SUCCESS is not applied yet), then
// its stock is sold, then it is COMPLETED. A failure in between answers
// 500, and the redelivery settles nothing twice and finishes the order. Every delivery of a completed order answers with
// the same ORDER_COMPLETED (its id derives from the order).
package completeorder

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/orderstore"
)

// Name is the function's name, and the source of its replies.
const Name = "complete-order"

// stock turns an order's reserved stock into sold stock, once.
type stock interface {
	SettleOrder(ctx context.Context, orderID string) (int64, error)
}

// Function is complete-order.
type Function struct {
	store *orderstore.Store // the orders database, kept with fn.Use
	stock stock             // the catalog, kept with fn.Use
	now   func() time.Time
}

// New returns the function, unstarted.
func New() *Function { return &Function{now: time.Now} }

// Start opens the orders database (MySQL) and the catalog (MongoDB); the
// runtime keeps both (fn.Use).
func (f *Function) Start(ctx context.Context, cfg map[string]string) (err error) {
	f.store, err = orderstore.OpenFrom(ctx, cfg)
	if err := fn.Use(ctx, f.store, err); err != nil {
		return fmt.Errorf("completeorder: start: %w", err)
	}
	cat, err := catalog.OpenFrom(ctx, cfg)
	if err := fn.Use(ctx, cat, err); err != nil {
		return fmt.Errorf("completeorder: start: %w", err)
	}
	f.stock = cat
	return nil
}

func (f *Function) use(orders *orderstore.Store, s stock) { f.store, f.stock = orders, s }

// Handle settles the stock and completes the order of a DELIVERY_COMPLETED.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var d events.DeliveryCompletedData
	if err := events.Decode(e, &d); err != nil {
		return nil, fn.Permanent(err)
	}
	log := fn.Logger(ctx).With("order_id", d.OrderID)
	// The order is taken out of reach of a cancellation before its stock is
	// sold: an unpaid order (PAYMENT_SUCCESS not applied yet) can still be
	// cancelled by its payment deadline, and a cancellation that landed
	// between a read of the order and the settlement would leave the units
	// sold for an order that gave them back. A delivered order is past
	// IN_TRANSIT, which no cancellation leaves; the move records the states
	// the delivery proves it passed, as COMPLETED would. Its answer is the
	// order as it stands, so no read comes before it: a cancelled order is
	// refused the move and named in the answer.
	shipped, err := f.store.Advance(ctx, d.OrderID, orderstore.Change{To: orderstore.InTransit, At: f.now()}, nil)
	if errors.Is(err, orderstore.ErrNotFound) {
		return nil, fn.Permanent(fmt.Errorf("completeorder: %w", err))
	}
	if err != nil {
		return nil, fmt.Errorf("completeorder: %w", err)
	}
	if shipped.Order.Status == orderstore.Cancelled {
		log.WarnContext(ctx, "delivery completed for a cancelled order; ignored")
		return nil, nil
	}
	o := shipped.Order
	settled, err := f.stock.SettleOrder(ctx, o.ID)
	switch {
	case errors.Is(err, catalog.ErrNotReserved), errors.Is(err, catalog.ErrReleased):
		// Retrying cannot change it; the delivery did happen, so the
		// order still completes. Someone must look at the stock.
		log.ErrorContext(ctx, "the order's stock could not be settled", "error", err)
	case err != nil:
		return nil, fmt.Errorf("completeorder: settle stock: %w", err)
	}
	a, err := f.store.Advance(ctx, o.ID, orderstore.Change{To: orderstore.Completed, At: f.now(),
		Delivery: &orderstore.Delivery{ID: d.DeliveryID, Status: deliverystore.Delivered}}, nil)
	if err != nil {
		return nil, fmt.Errorf("completeorder: %w", err)
	}
	if a.Outcome == orderstore.Refused {
		log.WarnContext(ctx, "event ignored: the order cannot complete", "status", a.Order.Status)
		return nil, nil
	}
	log.InfoContext(ctx, "order completed", "units_settled", settled, "outcome", a.Outcome.String())
	reply, err := orderstore.CompletedEvent(ctx, Name, a.Order)
	if err != nil {
		return nil, fmt.Errorf("completeorder: reply: %w", err)
	}
	return &reply, nil
}
