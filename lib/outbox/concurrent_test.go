package outbox_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

// events builds perWriter events for each writer, ids "w<writer>-<n>".
func events(t *testing.T, writers, perWriter int) [][]event.Event {
	t.Helper()
	out := make([][]event.Event, writers)
	for w := range out {
		for i := range perWriter {
			out[w] = append(out[w], newEvent(t, fmt.Sprintf("w%d-%d", w, i)))
		}
	}
	return out
}

// TestSQLNoEventLost runs writers, their publishes, a flaky sink and a
// relay all at once: every committed event must arrive at least once.
func TestSQLNoEventLost(t *testing.T) {
	const writers, perWriter = 4, 10
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		f := newSQLFixture(t, e)
		ctx := t.Context()
		var wg sync.WaitGroup
		errs := make(chan error, writers+1)
		done := make(chan struct{})
		evs := events(t, writers, perWriter)
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					ev := evs[w][i]
					id := ev.ID()
					err := sqlstore.InTx(ctx, f.db, func(tx *sql.Tx) error {
						if _, err := tx.ExecContext(ctx, "INSERT INTO orders (id) VALUES (?)", id); err != nil {
							return err
						}
						return outbox.AddSQL(ctx, tx, ev)
					})
					if err != nil {
						errs <- err
						return
					}
					if i%3 == 0 {
						f.rec.FailWith(http.StatusServiceUnavailable)
					} else {
						f.rec.FailWith(0)
					}
					f.box.Publish(ctx, ev)
				}
			})
		}
		var relayWG sync.WaitGroup
		relayFailures := 0
		relayWG.Go(func() { relayFailures = relayUntil(done, func() error { _, err := f.box.Relay(ctx, 5); return err }) })
		wg.Wait()
		close(done)
		relayWG.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		f.rec.FailWith(0)
		for {
			n, err := f.box.Relay(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		noneLost(t, f.rec.Events(), writers, perWriter)
		if n := f.unsent(t); n != 0 {
			t.Errorf("%d events still unsent", n)
		}
		t.Logf("%d events committed, %d deliveries (duplicates allowed), %d relay runs hit the down sink",
			writers*perWriter, len(f.rec.Events()), relayFailures)
	})
}

// TestMongoNoEventLost is TestSQLNoEventLost for the document outbox:
// writers share two documents, so entries are added and removed side by side.
func TestMongoNoEventLost(t *testing.T) {
	const writers, perWriter = 4, 10
	rec := storetest.NewEventRecorder(t)
	b := newMongoBackend(t, sink.NewHTTP(rec.URL())).(mongoBackend)
	box := outbox.NewMongo(b.coll, sink.NewHTTP(rec.URL()), quiet())
	ctx := t.Context()
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, writers)
	evs := events(t, writers, perWriter)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				doc := []string{"p1", "p2"}[(w+i)%2]
				ev := evs[w][i]
				if err := b.tryWrite(ctx, doc, ev); err != nil {
					errs <- err
					return
				}
				if i%3 == 0 {
					rec.FailWith(http.StatusServiceUnavailable)
				} else {
					rec.FailWith(0)
				}
				box.Publish(ctx, doc, ev)
			}
		})
	}
	var relayWG sync.WaitGroup
	relayWG.Go(func() { relayUntil(done, func() error { _, err := box.Relay(ctx, 5); return err }) })
	wg.Wait()
	close(done)
	relayWG.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rec.FailWith(0)
	for {
		n, err := box.Relay(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	noneLost(t, rec.Events(), writers, perWriter)
	if n := b.unsent(t); n != 0 {
		t.Errorf("%d events still in the outbox", n)
	}
	t.Logf("%d events committed, %d deliveries", writers*perWriter, len(rec.Events()))
}

// noneLost fails t for each event w<writer>-<i> of writers × perWriter
// that got never delivered.
func noneLost(t *testing.T, delivered []event.Event, writers, perWriter int) {
	t.Helper()
	seen := map[string]bool{}
	for _, ev := range delivered {
		seen[ev.ID()] = true
	}
	for w := range writers {
		for i := range perWriter {
			if id := fmt.Sprintf("w%d-%d", w, i); !seen[id] {
				t.Errorf("event %s was lost", id)
			}
		}
	}
}

// relayUntil calls relay every 2 ms until done closes, as relay-outbox's
// timer would, and counts its failures, expected while the sink flaps.
func relayUntil(done <-chan struct{}, relay func() error) (failures int) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return failures
		case <-tick.C:
		}
		if relay() != nil {
			failures++
		}
	}
}
