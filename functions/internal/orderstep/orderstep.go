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

// Answer says what an order step function answers once the change an event
// asks for was applied to the order (a.Outcome): its reply, if any. The
// context's logger (fn.Logger) carries the order's id.
type Answer func(ctx context.Context, e event.Event, a orderstore.Advanced) (*event.Event, error)

// Forward is the answer of a step that moves an order forward
// (confirm-order, track-order): the order moved, or it is past the event
// already, is logged and answered with nothing; an order that is
// cancelled is answered by cancelled, since each step treats good news
// for a cancelled order its own way.
func Forward(cancelled Answer) Answer {
	return func(ctx context.Context, e event.Event, a orderstore.Advanced) (*event.Event, error) {
		log := fn.Logger(ctx)
		switch {
		case a.Outcome == orderstore.Applied:
			log.InfoContext(ctx, "order moved", "status", a.Order.Status)
		case a.Order.Status == orderstore.Cancelled:
			return cancelled(ctx, e, a)
		default:
			log.InfoContext(ctx, "event ignored: the order is past it", "status", a.Order.Status, "outcome", a.Outcome.String())
		}
		return nil, nil
	}
}

// New is the order step function named name: it opens the orders database
// the configuration names, and for each event applies the change read
// reads (Apply) and answers with answer.
func New(name string, read Read, answer Answer) *fn.Reaction[*orderstore.Store] {
	return fn.OnEvent(orderstore.OpenFrom, func(ctx context.Context, s *orderstore.Store, e event.Event) (*event.Event, error) {
		a, err := Apply(ctx, s, name, e, read)
		if err != nil {
			return nil, err
		}
		return answer(fn.WithLogger(ctx, fn.Logger(ctx).With("order_id", a.Order.ID)), e, a)
	})
}
