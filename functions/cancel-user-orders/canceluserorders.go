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

// New returns the function, unstarted: it opens the orders database and
// its outbox towards K_SINK.
func New() *fn.Reaction[*orderstore.Store] { return fn.On(Name, orderstore.OpenPublishing, cancel) }

// cancel cancels the open orders of a USER_DELETED's user. It has no reply.
func cancel(ctx context.Context, s *orderstore.Store, d events.UserDeletedData) (*event.Event, error) {
	change := orderstore.Change{Reason: events.ReasonUserDeleted, At: time.Now()}
	cancelled, err := s.CancelOpen(ctx, d.UserID, change, orderstore.AnnounceCancelled(ctx, Name))
	if err != nil {
		return nil, fmt.Errorf("canceluserorders: %w", err)
	}
	fn.Logger(ctx).InfoContext(ctx, "open orders of a deleted user cancelled", "user_id", d.UserID, "cancelled", len(cancelled))
	return nil, nil
}
