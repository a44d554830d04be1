package relayoutbox

import (
	"context"
	"database/sql"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

// BenchmarkRelayMySQL measures one tick that relays 100 events left in a
// MySQL outbox to a local sink; the events are written with the timer
// stopped, so ns/op is the relay alone (divide by 100 for one event).
func BenchmarkRelayMySQL(b *testing.B) {
	ctx := context.Background()
	rec := storetest.NewEventRecorder(b)
	sc := storetest.MySQL(b, "orders")
	db, err := sqlstore.Open(ctx, sc, []string{outbox.MySQLTable})
	if err != nil {
		b.Fatal(err)
	}
	f := New()
	storetest.Keep(b, func(ctx context.Context) error {
		return f.startWith(ctx, Config{Sink: rec.URL(), MySQL: sc, MySQLDatabases: []string{sc.Database}})
	})
	tickEvent := event.New()
	for b.Loop() {
		b.StopTimer()
		for i := range 100 {
			e := ev(b, "bench-"+string(rune('a'+i%26)))
			if err := sqlstore.InTx(ctx, db, func(tx *sql.Tx) error { return outbox.AddSQL(ctx, tx, e) }); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if _, err := f.Handle(ctx, tickEvent); err != nil {
			b.Fatal(err)
		}
	}
}
