// Package timeline is the timeline function: subscribed to every event on
// the Broker, it records each one under the order it is about (its
// partition key); the runtimes of the other functions send it their
// deliveries, dead-letter and reconcile-orders their actions, as
// knshop.timeline.report events posted straight to it. It purges entries
// not written for longer than the retention, a bounded batch at a time. The admin function
// reads the timeline.
package timeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/opsdb"
	"github.com/knshop/knshop/lib/timeline"
)

// Name is the function's name.
const Name = fn.TimelineFunction

// RetentionKey sets how long entries are kept (a Go duration; 168h).
const RetentionKey = "KNSHOP_TIMELINE_RETENTION"

// DefaultRetention keeps a week.
const DefaultRetention = 7 * 24 * time.Hour

// Purging: at most purgeBatch entries, at most once per purgeEvery.
const (
	purgeBatch = 1000
	purgeEvery = time.Minute
)

// Function is the timeline recorder.
type Function struct {
	store     *timeline.Store
	retention time.Duration
	now       func() time.Time

	mu         sync.Mutex
	lastPurged time.Time
}

// New returns an unstarted timeline function.
func New() *Function { return &Function{now: time.Now} }

// Start reads MONGODB_URI and KNSHOP_TIMELINE_RETENTION and opens the
// operations database.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	c, err := mongostore.ConfigFrom(cfg, opsdb.Database)
	if err != nil {
		return fmt.Errorf("timeline: config: %w", err)
	}
	f.retention = DefaultRetention
	if v := cfg[RetentionKey]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("timeline: config: %s=%q is not a positive duration", RetentionKey, v)
		}
		f.retention = d
	}
	f.store, err = timeline.Open(ctx, c)
	if err := fn.Use(ctx, f.store, err); err != nil {
		return fmt.Errorf("timeline: start: %w", err)
	}
	return nil
}

// Handle records a report's entries, or the event itself. An event about
// no order (no partition key, no subject) is taken and not recorded.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var entries []timeline.Entry
	if e.Type() == timeline.ReportType {
		got, err := timeline.Entries(e)
		if err != nil {
			return nil, fn.Permanent(err)
		}
		entries = got
	} else if en, ok := timeline.EventEntry(e, f.now()); ok {
		entries = append(entries, en)
	}
	if len(entries) == 0 {
		return nil, nil
	}
	if err := f.store.Record(ctx, entries...); err != nil {
		return nil, err
	}
	f.purge(ctx)
	return nil, nil
}

// purge deletes one bounded batch of expired entries, at most once per
// purgeEvery; a failure waits for the next turn.
func (f *Function) purge(ctx context.Context) {
	now := f.now()
	f.mu.Lock()
	due := now.Sub(f.lastPurged) >= purgeEvery
	if due {
		f.lastPurged = now
	}
	f.mu.Unlock()
	if !due {
		return
	}
	n, err := f.store.Purge(ctx, now.Add(-f.retention), purgeBatch)
	if err != nil {
		fn.Logger(ctx).WarnContext(ctx, "timeline: purge failed", "error", err)
		return
	}
	if n > 0 {
		fn.Logger(ctx).InfoContext(ctx, "timeline: purged old entries", "entries", n)
	}
}
