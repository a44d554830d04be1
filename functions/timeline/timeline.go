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
	"github.com/knshop/knshop/lib/opsdb"
	"github.com/knshop/knshop/lib/settings"
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

// New returns an unstarted timeline function: it reads MYSQL_DSN and
// KNSHOP_TIMELINE_RETENTION and opens the operations database.
func New() *fn.Reaction[*recorder] { return fn.OnEvent(open, record) }

// recorder is the timeline store (the runtime keeps it), the batcher that
// writes concurrent deliveries' entries together, the retention, and when
// entries were last purged.
type recorder struct {
	*timeline.Store
	batch     *timeline.Batcher
	retention time.Duration

	mu         sync.Mutex
	lastPurged time.Time
}

func open(ctx context.Context, cfg map[string]string) (*recorder, error) {
	s := settings.Of(cfg)
	c := settings.Read(s, opsdb.ConfigFrom)
	r := &recorder{retention: s.Duration(RetentionKey, DefaultRetention)}
	if err := s.Err("timeline: config"); err != nil {
		return nil, err
	}
	var err error
	if r.Store, err = timeline.Open(ctx, c); err != nil {
		return nil, fmt.Errorf("timeline: start: %w", err)
	}
	r.batch = timeline.NewBatcher(r.Store.Record)
	return r, nil
}

// record records a report's entries, or the event itself. An event about
// no order (no partition key, no subject) is taken and not recorded.
func record(ctx context.Context, r *recorder, e event.Event) (*event.Event, error) {
	var entries []timeline.Entry
	if e.Type() == timeline.ReportType {
		got, err := timeline.Entries(e)
		if err != nil {
			return nil, fn.Permanent(err)
		}
		entries = got
	} else if en, ok := timeline.EventEntry(e, time.Now()); ok {
		entries = append(entries, en)
	}
	if len(entries) == 0 {
		return nil, nil
	}
	if err := r.batch.Record(ctx, entries...); err != nil {
		return nil, err
	}
	r.purge(ctx)
	return nil, nil
}

// purge deletes one bounded batch of expired entries, at most once per
// purgeEvery; a failure waits for the next turn.
func (r *recorder) purge(ctx context.Context) {
	now := time.Now()
	r.mu.Lock()
	due := now.Sub(r.lastPurged) >= purgeEvery
	if due {
		r.lastPurged = now
	}
	r.mu.Unlock()
	if !due {
		return
	}
	n, err := r.Purge(ctx, now.Add(-r.retention), purgeBatch)
	if err != nil {
		fn.Logger(ctx).WarnContext(ctx, "timeline: purge failed", "error", err)
		return
	}
	if n > 0 {
		fn.Logger(ctx).InfoContext(ctx, "timeline: purged old entries", "entries", n)
	}
}
