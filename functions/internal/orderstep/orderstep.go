// Package orderstep is how the order saga's event functions (confirm-order,
// cancel-order, track-order) apply the change an event asks for, with one
// retry policy: an event they cannot read, and an order that does not
// exist, are permanent (400, not retried: a retry cannot change either);
// any other failure is retried.
package orderstep

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/orderstore"
)

// Read reads from an event the order it is about and the change it asks
// for; an error means the function does not take this event.
type Read func(e event.Event) (orderID string, c orderstore.Change, err error)

// Apply reads e with read and applies the change to the order with
// Advance (announcing nothing); function prefixes the errors.
func Apply(ctx context.Context, s *orderstore.Store, function string, e event.Event, read Read) (orderstore.Advanced, error) {
	orderID, c, err := read(e)
	if err != nil {
		return orderstore.Advanced{}, fn.Permanent(fmt.Errorf("%s: %w", function, err))
	}
	a, err := s.Advance(ctx, orderID, c, nil)
	if err != nil {
		return orderstore.Advanced{}, fn.PermanentIf(fmt.Errorf("%s: %w", function, err), orderstore.ErrNotFound)
	}
	return a, nil
}
