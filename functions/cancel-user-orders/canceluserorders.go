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
	orderstore.OutboxHooks // Start opens the orders database and the outbox towards K_SINK; Stop, Ready
	now                    func() time.Time
}

// New returns the function, unstarted.
func New() *Function { return &Function{now: time.Now} }

// Handle cancels the open orders of a USER_DELETED's user. It has no reply.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var d events.UserDeletedData
	if err := events.Decode(e, &d); err != nil {
		return nil, fn.Permanent(err)
	}
	change := orderstore.Change{Reason: events.ReasonUserDeleted, At: f.now()}
	cancelled, err := f.Store.CancelOpen(ctx, d.UserID, change, orderstore.AnnounceCancelled(ctx, Name))
	if err != nil {
		return nil, fmt.Errorf("canceluserorders: %w", err)
	}
	fn.Logger(ctx).InfoContext(ctx, "open orders of a deleted user cancelled", "user_id", d.UserID, "cancelled", len(cancelled))
	return nil, nil
}
