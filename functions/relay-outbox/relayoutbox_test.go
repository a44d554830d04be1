package relayoutbox

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/knshop/knshop/lib/deadletter"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

func ev(t testing.TB, name string) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.OrderCompletedData{
		OrderID: ids.Derive("relay-test", name), CustomerID: name, CompletedAt: time.Now().UTC()})
	return e
}

// tick posts a PingSource event, as the PingSource does, and returns the
// status.
func tick(t *testing.T, url string) int {
	t.Helper()
	return storetest.Call(t, http.MethodPost, url, "", `{}`, "Ce-Specversion", "1.0", "Ce-Id", ids.New(), "Ce-Type", "dev.knative.sources.ping",
		"Ce-Source", "/apis/v1/namespaces/knshop/pingsources/relay-outbox").Status
}

func customers(evs []event.Event, prefix string) []string {
	var out []string
	for _, e := range evs {
		var d events.OrderCompletedData
		if err := events.Decode(e, &d); err == nil && strings.HasPrefix(d.CustomerID, prefix) {
			out = append(out, d.CustomerID)
		}
	}
	return out
}

func TestRelayDrainsEveryOutboxOldestFirst(t *testing.T) {
	ctx := context.Background()
	rec := storetest.NewEventRecorder(t)
	sc := storetest.MySQL(t, "orders")
	unmigrated := storetest.MySQL(t, "payments") // its owner has not created the outbox yet
	mc := storetest.Mongo(t, "catalog")
	operations := storetest.MySQL(t, "operations") // its own dead letters, not the shared ones

	db, err := sqlstore.Open(ctx, sc, []string{outbox.MySQLTable})
	if err != nil {
		t.Fatal(err)
	}
	addSQL := func(e event.Event) {
		t.Helper()
		if err := sqlstore.InTx(ctx, db, func(tx *sql.Tx) error { return outbox.AddSQL(ctx, tx, e) }); err != nil {
			t.Fatal(err)
		}
	}
	mdb, err := mongostore.Open(ctx, mc)
	if err != nil {
		t.Fatal(err)
	}
	coll := mdb.Collection("products")
	addMongo := func(docID string, e event.Event) {
		t.Helper()
		set, err := outbox.MongoSet(e)
		if err != nil {
			t.Fatal(err)
		}
		set["name"] = docID
		if _, err := coll.UpdateOne(ctx, bson.M{"_id": docID}, bson.M{"$set": set}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"p1", "p2"} {
		if _, err := coll.InsertOne(ctx, bson.M{"_id": id, "name": id}); err != nil {
			t.Fatal(err)
		}
	}
	// Changes committed with their events, then a "crash" before Publish.
	addSQL(ev(t, "sql-1"))
	addMongo("p1", ev(t, "mongo-1"))
	addSQL(ev(t, "sql-2"))
	addMongo("p2", ev(t, "mongo-2"))
	addMongo("p1", ev(t, "mongo-3"))

	f := New()
	storetest.Keep(t, func(ctx context.Context) error {
		return f.startWith(ctx, Config{
			Sink: rec.URL(), MySQL: sc, MySQLDatabases: []string{sc.Database, unmigrated.Database},
			Mongo: mc, MongoCollections: []MongoCollection{{mc.Database, "products"}},
			DeadLetterDatabase: operations.Database, Retention: time.Hour,
		})
	})
	h, err := fn.Handler(f)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	refused := []event.Event{ev(t, "sql-4"), ev(t, "mongo-5")}
	steps := []struct {
		name       string
		before     func()
		sinkStatus int
		want       int
		wantSQL    []string
		wantMongo  []string
	}{
		{name: "one tick sends everything left, oldest first per outbox", want: 204,
			wantSQL: []string{"sql-1", "sql-2"}, wantMongo: []string{"mongo-1", "mongo-2", "mongo-3"}},
		{name: "a second tick sends nothing", want: 204,
			wantSQL: []string{"sql-1", "sql-2"}, wantMongo: []string{"mongo-1", "mongo-2", "mongo-3"}},
		{name: "a broker that is down makes the tick a 500 and keeps the events",
			before: func() { addSQL(ev(t, "sql-3")); addMongo("p2", ev(t, "mongo-4")) }, sinkStatus: 503, want: 500,
			wantSQL: []string{"sql-1", "sql-2"}, wantMongo: []string{"mongo-1", "mongo-2", "mongo-3"}},
		{name: "the next tick delivers them once", want: 204,
			wantSQL: []string{"sql-1", "sql-2", "sql-3"}, wantMongo: []string{"mongo-1", "mongo-2", "mongo-3", "mongo-4"}},
		{name: "events the broker refuses for good are set aside and the tick succeeds",
			before: func() { addSQL(refused[0]); addMongo("p1", refused[1]) }, sinkStatus: 400, want: 204,
			wantSQL: []string{"sql-1", "sql-2", "sql-3"}, wantMongo: []string{"mongo-1", "mongo-2", "mongo-3", "mongo-4"}},
		{name: "what was set aside is not sent again", before: func() { addSQL(ev(t, "sql-5")) }, want: 204,
			wantSQL: []string{"sql-1", "sql-2", "sql-3", "sql-5"}, wantMongo: []string{"mongo-1", "mongo-2", "mongo-3", "mongo-4"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before()
			}
			rec.FailWith(s.sinkStatus)
			defer rec.FailWith(0)
			if got := tick(t, srv.URL); got != s.want {
				t.Fatalf("tick answered %d, want %d", got, s.want)
			}
			evs := rec.Events()
			if got := customers(evs, "sql-"); strings.Join(got, ",") != strings.Join(s.wantSQL, ",") {
				t.Fatalf("MySQL outbox events = %v, want %v", got, s.wantSQL)
			}
			if got := customers(evs, "mongo-"); strings.Join(got, ",") != strings.Join(s.wantMongo, ",") {
				t.Fatalf("MongoDB outbox events = %v, want %v", got, s.wantMongo)
			}
		})
	}
	// The refused events are dead letters an admin sees (and can replay),
	// with the Broker's answer.
	lc := sc
	lc.Database = operations.Database
	letters, err := deadletter.Open(ctx, lc)
	if err != nil {
		t.Fatal(err)
	}
	defer letters.Close()
	list, _, err := letters.List(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range refused {
		found := false
		for _, l := range list {
			if l.Event.ID() == e.ID() {
				found = true
				if l.ErrorCode != 400 || l.ErrorDest != rec.URL() {
					t.Errorf("letter of %s: code %d, dest %q", e.ID(), l.ErrorCode, l.ErrorDest)
				}
			}
		}
		if !found {
			t.Errorf("no dead letter for the refused event %s", e.ID())
		}
	}
}

// A tick purges the sent events of a MySQL outbox once they are older than
// the retention, and never an unsent one: the table holds minutes of
// events, not every event ever sent.
func TestRelayPurgesSentEventsPastTheRetention(t *testing.T) {
	ctx := context.Background()
	rec := storetest.NewEventRecorder(t)
	sc := storetest.MySQL(t, "orders")
	operations := storetest.MySQL(t, "operations")
	db, err := sqlstore.Open(ctx, sc, []string{outbox.MySQLTable})
	if err != nil {
		t.Fatal(err)
	}
	box := outbox.NewSQL(db, sink.NewHTTP(rec.URL()), fn.Logger(ctx))
	for i := range 3 {
		e := ev(t, fmt.Sprintf("purge-%d", i))
		if err := sqlstore.InTx(ctx, db, func(tx *sql.Tx) error { return outbox.AddSQL(ctx, tx, e) }); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			box.Publish(ctx, e) // sent; the third stays unsent
		}
	}
	f := New()
	storetest.Keep(t, func(ctx context.Context) error {
		return f.startWith(ctx, Config{Sink: rec.URL(), MySQL: sc, MySQLDatabases: []string{sc.Database},
			DeadLetterDatabase: operations.Database, Retention: time.Hour})
	})
	h, err := fn.Handler(f)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	rows := func() (all, unsent int) {
		t.Helper()
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(SUM(sent_at IS NULL), 0) FROM outbox").Scan(&all, &unsent); err != nil {
			t.Fatal(err)
		}
		return all, unsent
	}
	rec.FailWith(503) // the third stays unsent through both ticks
	defer rec.FailWith(0)
	if got := tick(t, srv.URL); got != 500 {
		t.Fatalf("tick answered %d, want 500 (the broker is down)", got)
	}
	if all, unsent := rows(); all != 3 || unsent != 1 {
		t.Fatalf("within the retention: %d rows, %d unsent; want 3 and 1", all, unsent)
	}
	f.cfg.Retention = time.Nanosecond
	tick(t, srv.URL)
	if all, unsent := rows(); all != 1 || unsent != 1 {
		t.Fatalf("past the retention: %d rows, %d unsent; want the unsent one only", all, unsent)
	}
}

func TestConfigFrom(t *testing.T) {
	base := map[string]string{"K_SINK": "http://broker", "MYSQL_DSN": "root@tcp(127.0.0.1:3306)/", "MONGODB_URI": "mongodb://127.0.0.1:27017"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := map[string]struct {
		cfg       map[string]string
		wantErr   bool
		wantMySQL int
		wantMongo int
	}{
		"defaults":                        {cfg: with(), wantMySQL: 3, wantMongo: 4},
		"lists set":                       {cfg: with("RELAY_MYSQL_DATABASES", "orders", "RELAY_MONGO_COLLECTIONS", "catalog.products"), wantMySQL: 1, wantMongo: 1},
		"empty lists relay nothing":       {cfg: map[string]string{"K_SINK": "x", "RELAY_MYSQL_DATABASES": "", "RELAY_MONGO_COLLECTIONS": ""}},
		"no sink":                         {cfg: with("K_SINK", ""), wantErr: true},
		"a collection without its db":     {cfg: with("RELAY_MONGO_COLLECTIONS", "products"), wantErr: true},
		"mysql outboxes need a DSN":       {cfg: with("MYSQL_DSN", ""), wantErr: true},
		"a retention":                     {cfg: with("OUTBOX_RETENTION", "30s"), wantMySQL: 3, wantMongo: 4},
		"a retention that is no duration": {cfg: with("OUTBOX_RETENTION", "soon"), wantErr: true},
		"a retention of nothing":          {cfg: with("OUTBOX_RETENTION", "0s"), wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := ConfigFrom(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if len(c.MySQLDatabases) != tc.wantMySQL || len(c.MongoCollections) != tc.wantMongo {
				t.Fatalf("config = %+v", c)
			}
		})
	}
}
