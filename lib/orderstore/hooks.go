package orderstore

import (
	"context"
	"errors"

	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
)

// Hooks are the lifecycle hooks of a function that works on the orders
// database. A function embeds them: Start opens Store from the function's
// cfg (OpenFrom), Stop releases it and Ready reports whether it answers. A
// function with more to start defines its own Start and calls
// Hooks.Start from it.
type Hooks struct {
	// Store is the orders database, once Start has opened it.
	Store *Store
}

var (
	_ fn.Starter           = (*Hooks)(nil)
	_ fn.Stopper           = (*Hooks)(nil)
	_ fn.ReadinessReporter = (*Hooks)(nil)
)

// Start opens the orders database cfg names.
func (h *Hooks) Start(ctx context.Context, cfg map[string]string) error {
	s, err := OpenFrom(ctx, cfg)
	if err != nil {
		return err
	}
	h.Store = s
	return nil
}

// Stop releases the database; before Start it has nothing to do.
func (h *Hooks) Stop(ctx context.Context) error { return h.Store.Close() }

// Ready reports whether the database answers; before Start it does not.
func (h *Hooks) Ready(ctx context.Context) (bool, error) { return h.Store.Ping(ctx) == nil, nil }

// ErrNoSink is the error of OutboxHooks.Start without K_SINK.
var ErrNoSink = errors.New("orderstore: K_SINK is not set")

// OutboxHooks are the Hooks of a function whose changes write events: the
// store publishes them to K_SINK after each commit (Store.PublishWith).
type OutboxHooks struct {
	Hooks
}

var _ fn.Starter = (*OutboxHooks)(nil)

// Start opens the orders database cfg names and its outbox towards K_SINK,
// which it requires.
func (h *OutboxHooks) Start(ctx context.Context, cfg map[string]string) error {
	s, err := OpenPublishing(ctx, cfg)
	if err != nil {
		return err
	}
	h.Store = s
	return nil
}

// OpenPublishing opens the orders database cfg names (OpenFrom) with its
// outbox publishing to K_SINK, which it requires: the store of a function
// whose changes write events, held as a plain field.
func OpenPublishing(ctx context.Context, cfg map[string]string) (*Store, error) {
	if cfg["K_SINK"] == "" {
		return nil, ErrNoSink
	}
	s, err := OpenFrom(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.PublishWith(outbox.NewSQL(s.DB(), sink.NewHTTP(cfg["K_SINK"]), fn.Logger(ctx)))
	return s, nil
}
