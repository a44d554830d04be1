package outbox_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

// TestSQLNoEventLost runs writers, their publishes, a flaky sink and a
// relay all at once: every committed event must arrive at least once.
func TestSQLNoEventLost(t *testing.T) {
	const writers, perWriter = 4, 10
	for _, e := range storetest.MySQLEngines(t) {
		t.Run(e.Name, func(t *testing.T) {
			f := newSQLFixture(t, e)
			ctx := t.Context()
			var wg sync.WaitGroup
			errs := make(chan error, writers+1)
			done := make(chan struct{})
			for w := range writers {
				wg.Go(func() {
					for i := range perWriter {
						id := fmt.Sprintf("w%d-%d", w, i)
						ev := newEvent(t, id)
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
			relayWG.Go(func() {
				tick := time.NewTicker(2 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case <-tick.C:
					}
					// Failures are expected while the sink flaps.
					if _, err := f.box.Relay(ctx, 5); err != nil {
						relayFailures++
					}
				}
			})
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
			seen := map[string]bool{}
			for _, ev := range f.rec.Events() {
				seen[ev.ID()] = true
			}
			for w := range writers {
				for i := range perWriter {
					if id := fmt.Sprintf("w%d-%d", w, i); !seen[id] {
						t.Errorf("event %s was lost", id)
					}
				}
			}
			if n := f.unsent(t); n != 0 {
				t.Errorf("%d events still unsent", n)
			}
			t.Logf("%d events committed, %d deliveries (duplicates allowed), %d relay runs hit the down sink",
				writers*perWriter, len(f.rec.Events()), relayFailures)
		})
	}
}
