package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
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

func TestSQLOutbox(t *testing.T) {
	tests := map[string]struct {
		run     func(t *testing.T, f sqlFixture)
		wantIDs []string
	}{
		"crash before publish: relay delivers exactly once": {
			run: func(t *testing.T, f sqlFixture) {
				f.place(t, "o1", newEvent(t, "e1"))
				f.relay(t, 10, 1)
				f.relay(t, 10, 0)
			},
			wantIDs: []string{"e1"},
		},
		"publish marks sent: relay has nothing left": {
			run: func(t *testing.T, f sqlFixture) {
				e := newEvent(t, "e1")
				f.place(t, "o1", e)
				f.box.Publish(t.Context(), e)
				if n := f.unsent(t); n != 0 {
					t.Fatalf("%d unsent after publish", n)
				}
				f.relay(t, 10, 0)
			},
			wantIDs: []string{"e1"},
		},
		"sink down at publish: left for the relay": {
			run: func(t *testing.T, f sqlFixture) {
				e := newEvent(t, "e1")
				f.place(t, "o1", e)
				f.rec.FailWith(http.StatusServiceUnavailable)
				f.box.Publish(t.Context(), e)
				if n := f.unsent(t); n != 1 {
					t.Fatalf("%d unsent after a failed publish, want 1", n)
				}
				if _, err := f.box.Relay(t.Context(), 10); err == nil {
					t.Fatal("relay to a down sink succeeded")
				}
				f.rec.FailWith(0)
				f.relay(t, 10, 1)
			},
			wantIDs: []string{"e1"},
		},
		"relay sends oldest first, within its limit": {
			run: func(t *testing.T, f sqlFixture) {
				f.place(t, "o1", newEvent(t, "e1"))
				f.place(t, "o2", newEvent(t, "e2"), newEvent(t, "e3"))
				f.place(t, "o3", newEvent(t, "e4"))
				f.relay(t, 2, 2)
				f.relay(t, 10, 2)
			},
			wantIDs: []string{"e1", "e2", "e3", "e4"},
		},
		"relay stops at the first refused event": {
			run: func(t *testing.T, f sqlFixture) {
				f.place(t, "o1", newEvent(t, "e1"), newEvent(t, "e2"), newEvent(t, "e3"))
				picky := outbox.NewSQL(f.db, refusing{next: sink.NewHTTP(f.rec.URL()), refuse: map[string]bool{"e2": true}}, quiet())
				n, err := picky.Relay(t.Context(), 10)
				if !errors.Is(err, errRefused) || n != 1 {
					t.Fatalf("relay = %d, %v; want 1, refused", n, err)
				}
				f.relay(t, 10, 2)
			},
			wantIDs: []string{"e1", "e2", "e3"},
		},
		"an event refused for good is set aside and the relay goes on": {
			run: func(t *testing.T, f sqlFixture) {
				f.place(t, "o1", newEvent(t, "e1"), newEvent(t, "e2"), newEvent(t, "e3"))
				var aside asideRecorder
				picky := outbox.NewSQL(f.db, refusing{next: sink.NewHTTP(f.rec.URL()), refuse: map[string]bool{"e2": true}, status: 400}, quiet()).WithSetAside(aside.setAside)
				if n, err := picky.Relay(t.Context(), 10); err != nil || n != 2 {
					t.Fatalf("relay = %d, %v; want 2 sent", n, err)
				}
				if len(aside.ids) != 1 || aside.ids[0] != "e2:400" {
					t.Fatalf("set aside %v, want e2:400", aside.ids)
				}
				f.relay(t, 10, 0)
			},
			wantIDs: []string{"e1", "e3"},
		},
		"a transient refusal is not set aside": {
			run: func(t *testing.T, f sqlFixture) {
				f.place(t, "o1", newEvent(t, "e1"), newEvent(t, "e2"))
				var aside asideRecorder
				picky := outbox.NewSQL(f.db, refusing{next: sink.NewHTTP(f.rec.URL()), refuse: map[string]bool{"e1": true}, status: 503}, quiet()).WithSetAside(aside.setAside)
				if n, err := picky.Relay(t.Context(), 10); err == nil || n != 0 || len(aside.ids) != 0 {
					t.Fatalf("relay = %d, %v, set aside %v; want a stop at e1", n, err, aside.ids)
				}
				f.relay(t, 10, 2)
			},
			wantIDs: []string{"e1", "e2"},
		},
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
		"purge deletes sent events only": {
			run: func(t *testing.T, f sqlFixture) {
				e := newEvent(t, "e1")
				f.place(t, "o1", e)
				f.box.Publish(t.Context(), e)
				f.place(t, "o2", newEvent(t, "e2"))
				n, err := f.box.Purge(t.Context(), time.Now().Add(time.Minute))
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
				got := f.rec.Events()
				if !slices.Equal(ids(got), tc.wantIDs) {
					t.Fatalf("sink got %v, want %v", ids(got), tc.wantIDs)
				}
				for _, g := range got {
					if want := newEvent(t, g.ID()); string(g.Data()) != string(want.Data()) {
						t.Fatalf("data of %s changed on the way: %s", g.ID(), g.Data())
					}
				}
			})
		}
	}
}
