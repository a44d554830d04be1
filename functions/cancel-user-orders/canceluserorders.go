// Package canceluserorders is the event function that cancels every open
// order (before SHIPPING) of a deleted user, with reason user_deleted. One
// USER_DELETED can cancel many orders, so the ORDER_CANCELLED events go
// through the outbox, in the same transaction as the cancellations, and are
// published after the commit. A redelivery finds nothing left to cancel;
// events a crash kept from being published are sent by relay-outbox.
package canceluserorders

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/orderstore"
)

// Name is the function's name, and the source of its events.
const Name = "cancel-user-orders"

// Function is cancel-user-orders.
type Function struct {
	store *orderstore.Store // the orders database, kept with fn.Use
	now   func() time.Time
}

// New returns the function, unstarted.
func New() *Function { return &Function{now: time.Now} }

// Start opens the orders database and its outbox towards K_SINK; the runtime keeps it (fn.Use).
func (f *Function) Start(ctx context.Context, cfg map[string]string) (err error) {
	f.store, err = orderstore.OpenPublishing(ctx, cfg)
	return fn.Use(ctx, f.store, err)
}

// Handle cancels the open orders of a USER_DELETED's user. It has no reply.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var d events.UserDeletedData
	if err := events.Decode(e, &d); err != nil {
		return nil, fn.Permanent(err)
	}
	change := orderstore.Change{Reason: events.ReasonUserDeleted, At: f.now()}
	cancelled, err := f.store.CancelOpen(ctx, d.UserID, change, orderstore.AnnounceCancelled(ctx, Name))
	if err != nil {
		return nil, fmt.Errorf("canceluserorders: %w", err)
	}
	fn.Logger(ctx).InfoContext(ctx, "open orders of a deleted user cancelled", "user_id", d.UserID, "cancelled", len(cancelled))
	return nil, nil
}
