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
		evs := events(t, writers, perWriter)
		relayFailures := whileRelaying(t, func() error { _, err := f.box.Relay(ctx, 5); return err }, writers, perWriter, func(w, i int) error {
			ev := evs[w][i]
			id := ev.ID()
			err := sqlstore.InTx(ctx, f.db, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO orders (id) VALUES (?)", id); err != nil {
					return err
				}
				return outbox.AddSQL(ctx, tx, ev)
			})
			if err != nil {
				return err
			}
			f.rec.FailWith(flaky(i))
			f.box.Publish(ctx, ev)
			return nil
		})
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
	evs := events(t, writers, perWriter)
	whileRelaying(t, func() error { _, err := box.Relay(ctx, 5); return err }, writers, perWriter, func(w, i int) error {
		doc := []string{"p1", "p2"}[(w+i)%2]
		ev := evs[w][i]
		if err := b.tryWrite(ctx, doc, ev); err != nil {
			return err
		}
		rec.FailWith(flaky(i))
		box.Publish(ctx, doc, ev)
		return nil
	})
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
// whileRelaying runs step as storetest.Concurrently does (workers ×
// each) while relay runs every 2 ms beside it, and returns how many relay
// runs failed.
func whileRelaying(t *testing.T, relay func() error, workers, each int, step func(w, i int) error) (relayFailures int) {
	t.Helper()
	done := make(chan struct{})
	var relayWG sync.WaitGroup
	relayWG.Go(func() { relayFailures = relayUntil(done, relay) })
	defer func() {
		close(done)
		relayWG.Wait()
	}()
	storetest.Concurrently(t, workers, each, step)
	return
}

// flaky is how the sink answers the publish of a writer's i-th event: down
// for every third, up for the others.
func flaky(i int) int {
	if i%3 == 0 {
		return http.StatusServiceUnavailable
	}
	return 0
}

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
