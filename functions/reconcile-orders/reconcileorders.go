// Package reconcileorders is the reconcile-orders function: a timer (a
// PingSource on the cluster, `knshop dev --reconcile-every` locally) that
// makes every order end. On each tick, whatever the event, it
//   - cancels with reason expired each order not PAID by its deadline
//     (ORDER_CANCELLED through the orders outbox; release-stock,
//     refund-payment and cancel-delivery undo the rest), and
//   - drives again each order that has not moved for ORDER_STALL_AFTER, by
//     publishing its ORDER_PLACED once more under the same id: every step
//     is idempotent and answers what it answered before, so the saga runs
//     forward from wherever an event was lost, and a step that was done is
//     not done twice. An order at SHIPPING or later is never cancelled; one
//     driven StuckAfter times without moving is logged for an operator and
//     listed by `GET /api/orders?stuck=true`.
//
// Each tick does bounded work (Batch orders of each kind), found through
// the indexes (status, deadline) and (status, checked_at).
package reconcileorders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/metrics"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/settings"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/timeline"
)

// Name is the function's name, and the source of its cancellations.
const Name = "reconcile-orders"

// placedBy is the source of the ORDER_PLACED it publishes again: the
// original producer's, so the event is the very same CloudEvent.
const placedBy = "orders"

// Batch bounds the orders of each kind one tick handles.
const Batch = 100

// Function is reconcile-orders.
type Function struct {
	store     *orderstore.Store // the orders database, kept with fn.Use
	deadlines orderstore.Deadlines
	sink      sink.Sender
	now       func() time.Time
}

// New returns the function, unstarted.
func New() *Function { return &Function{now: time.Now} }

// Start reads the deadlines and opens the orders database, its outbox and
// the sink towards the Broker (K_SINK).
func (f *Function) Start(ctx context.Context, cfg map[string]string) (err error) {
	s := settings.Of(cfg)
	f.deadlines = settings.Read(s, orderstore.DeadlinesFrom)
	f.sink = sink.NewHTTP(settings.Read(s, sink.URLFrom))
	if err := s.Err("reconcileorders: config"); err != nil {
		return err
	}
	f.store, err = orderstore.OpenPublishing(ctx, cfg)
	if err := fn.Use(ctx, f.store, err); err != nil {
		return fmt.Errorf("reconcileorders: start: %w", err)
	}
	return nil
}

// Handle runs one tick: expire, then drive again. A failure is a 500, so
// the Broker (or the next tick) tries again; what was done stays done.
func (f *Function) Handle(ctx context.Context, _ event.Event) (*event.Event, error) {
	now := f.now().UTC()
	expired, errExpire := f.expire(ctx, now)
	redriven, errRedrive := f.redrive(ctx, now)
	if expired > 0 || redriven > 0 {
		fn.Logger(ctx).InfoContext(ctx, "reconciled orders", "expired", expired, "driven_again", redriven)
	}
	if err := errors.Join(errExpire, errRedrive); err != nil {
		return nil, fmt.Errorf("reconcileorders: %w", err)
	}
	return nil, nil
}

// expire cancels the orders past their deadline, under the order's row
// lock: one that was paid meanwhile is left alone (Refused).
func (f *Function) expire(ctx context.Context, now time.Time) (int, error) {
	orders, err := f.store.Expired(ctx, now, Batch)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, o := range orders {
		c := orderstore.Change{To: orderstore.Cancelled, Reason: events.ReasonExpired, At: now, From: orderstore.UnpaidStates}
		a, err := f.store.Advance(ctx, o.ID, c, orderstore.AnnounceCancelled(ctx, Name))
		if err != nil {
			errs = append(errs, fmt.Errorf("expire %s: %w", o.ID, err))
			continue
		}
		if a.Outcome == orderstore.Applied {
			n++
			actions.WithLabelValues(actionExpired).Inc()
			reportAction(ctx, o.ID, actionExpired, now, map[string]any{"was": o.Status})
			fn.Logger(ctx).InfoContext(ctx, "order expired unpaid; cancelled", "order_id", o.ID, "was", o.Status)
		}
	}
	return n, errors.Join(errs...)
}

// The actions of a tick, the values of reconcile_actions_total's label.
const (
	actionExpired  = "expired"
	actionRedriven = "redriven"
	actionStuck    = "stuck"
)

var actions = metrics.NewCounterVec("reconcile_actions_total",
	"action")

// reportAction adds what reconcile-orders did to the order's timeline.
func reportAction(ctx context.Context, orderID, action string, at time.Time, detail map[string]any) {
	timeline.Report(ctx, timeline.Entry{
		ID: timeline.NewID(timeline.KindReconcile), OrderID: orderID, At: at, Kind: timeline.KindReconcile,
		Type: action, Source: "/knshop/" + Name, Detail: detail,
	})
}

// redrive publishes again the ORDER_PLACED of every stalled order.
func (f *Function) redrive(ctx context.Context, now time.Time) (int, error) {
	orders, err := f.store.Stalled(ctx, now.Add(-f.deadlines.StallAfter), Batch)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, o := range orders {
		if err := f.redriveOne(ctx, o, now); err != nil {
			errs = append(errs, fmt.Errorf("drive %s again: %w", o.ID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func (f *Function) redriveOne(ctx context.Context, o orderstore.Order, now time.Time) error {
	placed, err := orderstore.PlacedEvent(ctx, placedBy, o)
	if err != nil {
		return err
	}
	if err := f.sink.Send(ctx, placed); err != nil {
		return err
	}
	times, err := f.store.MarkRedriven(ctx, o, now)
	if err != nil {
		return err
	}
	log := fn.Logger(ctx).With("order_id", o.ID, "status", o.Status, "times", times)
	actions.WithLabelValues(actionRedriven).Inc()
	reportAction(ctx, o.ID, actionRedriven, now, map[string]any{"status": o.Status, "times": times, "eventId": placed.ID()})
	if times >= orderstore.StuckAfter {
		actions.WithLabelValues(actionStuck).Inc()
		reportAction(ctx, o.ID, actionStuck, now, map[string]any{"status": o.Status, "times": times})
		log.WarnContext(ctx, "order does not move though driven again; an operator should look (GET /api/orders?stuck=true)")
		return nil
	}
	log.InfoContext(ctx, "stalled order driven again")
	return nil
}
