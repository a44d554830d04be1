package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

var sqlMigrations = []string{
	"CREATE TABLE IF NOT EXISTS orders (id VARCHAR(40) NOT NULL PRIMARY KEY)",
	outbox.MySQLTable,
	"CREATE TABLE IF NOT EXISTS changes (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, k VARCHAR(40) NOT NULL)",
}

type sqlFixture struct {
	db  *sql.DB
	rec *storetest.EventRecorder
	box *outbox.SQL
}

func newSQLFixture(t *testing.T, e storetest.Engine) sqlFixture {
	t.Helper()
	c := e.Config(t, "outbox")
	db, err := sqlstore.Open(t.Context(), c, sqlMigrations)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Serialize {
		t.Cleanup(func() {
			if err := db.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	rec := storetest.NewEventRecorder(t)
	return sqlFixture{db: db, rec: rec, box: outbox.NewSQL(db, sink.NewHTTP(rec.URL()), quiet())}
}

// place writes an order and its events in one transaction.
func (f sqlFixture) place(t *testing.T, orderID string, evs ...event.Event) {
	t.Helper()
	err := sqlstore.InTx(t.Context(), f.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(t.Context(), "INSERT INTO orders (id) VALUES (?)", orderID); err != nil {
			return err
		}
		return outbox.AddSQL(t.Context(), tx, evs...)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f sqlFixture) relay(t *testing.T, limit, want int) {
	t.Helper()
	n, err := f.box.Relay(t.Context(), limit)
	if err != nil {
		t.Fatalf("relay: %v", err)
	}
	if n != want {
		t.Fatalf("relay sent %d, want %d", n, want)
	}
}

func (f sqlFixture) unsent(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// sqlBackend is the MySQL outbox: a change is a row of changes written in
// the events' transaction.
type sqlBackend struct{ sqlFixture }

func (b sqlBackend) write(t *testing.T, key string, evs ...event.Event) {
	t.Helper()
	err := sqlstore.InTx(t.Context(), b.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(t.Context(), "INSERT INTO changes (k) VALUES (?)", key); err != nil {
			return err
		}
		return outbox.AddSQL(t.Context(), tx, evs...)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (b sqlBackend) publish(t *testing.T, _ string, evs ...event.Event) {
	b.box.Publish(t.Context(), evs...)
}

func (b sqlBackend) relayTo(s sink.Sender, aside outbox.SetAside) relayer {
	o := outbox.NewSQL(b.db, s, quiet())
	if aside != nil {
		o = o.WithSetAside(aside)
	}
	return o
}

func (b sqlBackend) changed(t *testing.T, key string) bool {
	t.Helper()
	var n int
	if err := b.db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM changes WHERE k = ?", key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestSQLOutbox runs the conformance suite on each MySQL engine, then what
// only the SQL outbox has: transactions, a unique event id, purge.
func TestSQLOutbox(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		runOutboxSuite(t, func(t *testing.T, s sink.Sender) backend {
			f := newSQLFixture(t, e)
			f.box = outbox.NewSQL(f.db, s, quiet())
			return sqlBackend{f}
		})
	})

	tests := map[string]struct {
		run     func(t *testing.T, f sqlFixture)
		wantIDs []string
	}{
		"rolled-back transaction leaves no outbox row": {
			run: func(t *testing.T, f sqlFixture) {
				boom := errors.New("boom")
				err := sqlstore.InTx(t.Context(), f.db, func(tx *sql.Tx) error {
					if err := outbox.AddSQL(t.Context(), tx, newEvent(t, "e1")); err != nil {
						return err
					}
					return boom
				})
				if !errors.Is(err, boom) {
					t.Fatalf("InTx = %v", err)
				}
				if n := f.unsent(t); n != 0 {
					t.Fatalf("%d outbox rows after rollback", n)
				}
				f.relay(t, 10, 0)
			},
		},
		"an event id is stored once": {
			run: func(t *testing.T, f sqlFixture) {
				f.place(t, "o1", newEvent(t, "e1"))
				err := sqlstore.InTx(t.Context(), f.db, func(tx *sql.Tx) error {
					return outbox.AddSQL(t.Context(), tx, newEvent(t, "e1"))
				})
				if !sqlstore.IsDuplicate(err) {
					t.Fatalf("second add of e1: %v, want a duplicate", err)
				}
				f.relay(t, 10, 1)
			},
			wantIDs: []string{"e1"},
		},
		"an invalid event is refused before it is stored": {
			run: func(t *testing.T, f sqlFixture) {
				bad := event.New()
				err := sqlstore.InTx(t.Context(), f.db, func(tx *sql.Tx) error {
					return outbox.AddSQL(t.Context(), tx, bad)
				})
				if !errors.Is(err, outbox.ErrInvalidEvent) {
					t.Fatalf("err = %v, want ErrInvalidEvent", err)
				}
			},
		},
		"purge deletes at most its limit, oldest first": {
			run: func(t *testing.T, f sqlFixture) {
				for _, id := range []string{"e1", "e2", "e3"} {
					e := newEvent(t, id)
					f.place(t, "o-"+id, e)
					f.box.Publish(t.Context(), e)
				}
				if n, err := f.box.Purge(t.Context(), time.Now().Add(time.Minute), 2); err != nil || n != 2 {
					t.Fatalf("purge = %d, %v; want 2", n, err)
				}
				var left string
				if err := f.db.QueryRowContext(t.Context(), "SELECT event_id FROM outbox").Scan(&left); err != nil || left != "e3" {
					t.Fatalf("left %q, %v; want e3, the newest", left, err)
				}
			},
			wantIDs: []string{"e1", "e2", "e3"},
		},
		"purge deletes sent events only": {
			run: func(t *testing.T, f sqlFixture) {
				e := newEvent(t, "e1")
				f.place(t, "o1", e)
				f.box.Publish(t.Context(), e)
				f.place(t, "o2", newEvent(t, "e2"))
				if n, err := f.box.Purge(t.Context(), time.Now().Add(-time.Minute), 10); err != nil || n != 0 {
					t.Fatalf("purge before the cutoff = %d, %v; want 0", n, err)
				}
				n, err := f.box.Purge(t.Context(), time.Now().Add(time.Minute), 10)
				if err != nil || n != 1 {
					t.Fatalf("purge = %d, %v; want 1", n, err)
				}
				f.rec.FailWith(0)
				f.relay(t, 10, 1)
			},
			wantIDs: []string{"e1", "e2"},
		},
	}
	for _, e := range storetest.MySQLEngines(t) {
		for name, tc := range tests {
			t.Run(e.Name+"/"+name, func(t *testing.T) {
				f := newSQLFixture(t, e)
				tc.run(t, f)
				checkReceived(t, f.rec, tc.wantIDs)
			})
		}
	}
}

// The marks of concurrent publishers share statements (a group commit):
// each still reaches its row, so a relay after them finds nothing to send.
func TestSQLConcurrentPublishersAllMarked(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		f := newSQLFixture(t, e)
		const n = 30
		evs := make([][]event.Event, n)
		var want []string
		for i := range evs {
			evs[i] = []event.Event{newEvent(t, fmt.Sprintf("c%02d-a", i)), newEvent(t, fmt.Sprintf("c%02d-b", i))}
			f.place(t, fmt.Sprintf("o%02d", i), evs[i]...)
			want = append(want, evs[i][0].ID(), evs[i][1].ID())
		}
		storetest.Repeat(n, true, func(i int) { f.box.Publish(t.Context(), evs[i]...) })
		if left := f.unsent(t); left != 0 {
			t.Fatalf("%d of %d events not marked sent", left, 2*n)
		}
		f.relay(t, 100, 0)
		got := ids(f.rec.Events())
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("the sink got %v, want each of %v once", got, want)
		}
	})
}
