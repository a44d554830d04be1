package fn

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
)

// Reaction is an event function made of what it opens at Start (its store,
// or a struct of what it needs) and a handler that reacts to each event
// with it: the one way to write an event function. The runtime keeps what
// Start opened (Use: readiness pings it, stop closes it), so a reaction is
// two lines of wiring:
//
//	func New() *fn.Reaction[*catalog.Store] {
//		return fn.On(Name, catalog.OpenFrom, record)
//	}
//
//	func record(ctx context.Context, s *catalog.Store, d events.OrderCompletedData) (*event.Event, error)
type Reaction[S any] struct {
	open   func(context.Context, map[string]string) (S, error)
	handle func(context.Context, S, event.Event) (*event.Event, error)
	opened S
}

// OnEvent builds a reaction: Start opens S with open, Handle hands each
// event to handle as it came (for a function that takes several event
// types and reads each itself).
func OnEvent[S any](open func(context.Context, map[string]string) (S, error),
	handle func(context.Context, S, event.Event) (*event.Event, error)) *Reaction[S] {
	return &Reaction[S]{open: open, handle: handle}
}

// On builds the reaction of the function named name to one event type:
// Handle decodes the event's data into D (events.Decode: schema-checked)
// and hands it to handle. An event that does not decode is permanent
// (retrying cannot change it); its error starts with name.
func On[S, D any, PD interface {
	*D
	events.Data
}](name string, open func(context.Context, map[string]string) (S, error),
	handle func(context.Context, S, D) (*event.Event, error)) *Reaction[S] {
	return OnEvent(open, func(ctx context.Context, s S, e event.Event) (*event.Event, error) {
		var d D
		if err := events.Decode(e, PD(&d)); err != nil {
			return nil, Permanent(fmt.Errorf("%s: %w", name, err))
		}
		return handle(ctx, s, d)
	})
}

// Start opens what the reaction needs and hands it to the runtime.
func (r *Reaction[S]) Start(ctx context.Context, cfg map[string]string) error {
	s, err := r.open(ctx, cfg)
	if err := Use(ctx, s, err); err != nil {
		return err
	}
	r.opened = s
	return nil
}

// Handle reacts to one event.
func (r *Reaction[S]) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	return r.handle(ctx, r.opened, e)
}

// Opened is what Start opened (for tests, which seed and inspect it).
func (r *Reaction[S]) Opened() S { return r.opened }

// Swap replaces what Start opened with what wrap makes of it, for a test
// that makes a store fail; the runtime still keeps, pings and closes what
// Start opened. Not safe while events are handled.
func (r *Reaction[S]) Swap(wrap func(S) S) { r.opened = wrap(r.opened) }

// StartFrom is the Start of a function with a typed configuration: read
// reads it from cfg once, and start opens what it names (tests call start
// with a configuration of their own).
func StartFrom[C any](ctx context.Context, cfg map[string]string, read func(map[string]string) (C, error),
	start func(context.Context, C) error) error {
	c, err := read(cfg)
	if err != nil {
		return err
	}
	return start(ctx, c)
}
