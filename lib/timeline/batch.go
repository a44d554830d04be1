package timeline

import (
	"context"
	"time"

	"github.com/knshop/knshop/lib/batch"
)

// batchLinger is how long a Batcher gathers entries before each write. At
// 30 orders/s on one machine it took the timeline's updates from 16 an
// order to 9.6 (12.6 with no linger), and the saga's POST→PAID p99 from
// 146 to 75 ms, the CPU it freed (docs/benchmarks.md). It delays only
// the timeline, never the saga; the Broker's deliveries to the timeline
// wait for it, so it is kept well below what would slow them
// (DefaultMaxInFlight deliveries a write).
const batchLinger = 10 * time.Millisecond

// Batcher writes the entries of concurrent Record calls together (a
// batch.Group), and Store.Record writes them with one INSERT. So an
// order's entries that arrive close together (its events and the
// functions' reports of it) cost one statement rather than one each.
type Batcher struct {
	group *batch.Group[Entry]
}

// NewBatcher batches the calls to write (a Store's Record).
func NewBatcher(write func(context.Context, ...Entry) error) *Batcher {
	return &Batcher{group: batch.New(func(ctx context.Context, es []Entry) error { return write(ctx, es...) }, batchLinger)}
}

// Record queues entries for the next write and waits for it. Entries that
// are not valid are refused here, so they never fail the others' write. A
// caller whose ctx ends stops waiting; its entries are written anyway.
func (b *Batcher) Record(ctx context.Context, entries ...Entry) error {
	for _, e := range entries {
		if _, err := rowOf(e); err != nil {
			return err
		}
	}
	return b.group.Add(ctx, entries...)
}

// Queued is how many calls wait for the next write (for tests and
// metrics).
func (b *Batcher) Queued() int { return b.group.Queued() }
