// Package batch gathers the items of concurrent calls into one write: a
// group commit. The timeline writes the entries of concurrent deliveries
// with one INSERT, and the SQL outbox marks the events concurrent commits
// sent with one UPDATE. Under load, when each write waits longer for the
// database, more calls share it, so the statements per call fall as the
// load rises; alone, a call costs what a write of its own did.
package batch

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// writeTimeout bounds one write of a Group: it serves several callers, so
// it runs on none of their contexts.
const writeTimeout = 10 * time.Second

// Group writes the items of concurrent Add calls together. Each write
// carries every item queued during the linger before it and during the
// write before it; every caller gets the result of the write that carried
// its items.
type Group[T any] struct {
	write  func(context.Context, []T) error
	linger time.Duration

	mu      sync.Mutex
	queued  []T
	waiting []chan error
	busy    bool // a goroutine is writing; it takes what is queued next
}

// New batches the calls to write. linger is how long a write waits for
// more calls before it starts (0: it starts at once, and only the calls
// that arrive while a write runs share the next one).
func New[T any](write func(context.Context, []T) error, linger time.Duration) *Group[T] {
	return &Group[T]{write: write, linger: linger}
}

// Add queues items for the next write and waits for it. A caller whose
// ctx ends stops waiting; its items are written anyway.
func (g *Group[T]) Add(ctx context.Context, items ...T) error {
	done := make(chan error, 1)
	g.mu.Lock()
	g.queued = append(g.queued, items...)
	g.waiting = append(g.waiting, done)
	if !g.busy {
		g.busy = true
		go g.run()
	}
	g.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("batch: %w", ctx.Err())
	}
}

// run writes what is queued until nothing is.
func (g *Group[T]) run() {
	for {
		if g.linger > 0 {
			time.Sleep(g.linger)
		}
		g.mu.Lock()
		items, waiting := g.queued, g.waiting
		g.queued, g.waiting = nil, nil
		if len(waiting) == 0 {
			g.busy = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		err := g.write(ctx, items)
		cancel()
		for _, w := range waiting {
			w <- err
		}
	}
}

// Queued is how many calls wait for the next write (for tests and
// metrics).
func (g *Group[T]) Queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting)
}
