package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

type mongoFixture struct {
	coll *mongo.Collection
	rec  *storetest.EventRecorder
	box  *outbox.Mongo
}

func newMongoFixture(t *testing.T) mongoFixture {
	t.Helper()
	c := storetest.Mongo(t, "outbox")
	db, err := mongostore.Open(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	coll := db.Collection("products")
	for _, id := range []string{"p1", "p2"} {
		if _, err := coll.InsertOne(t.Context(), bson.M{"_id": id, "stock": 10}); err != nil {
			t.Fatal(err)
		}
	}
	rec := storetest.NewEventRecorder(t)
	return mongoFixture{coll: coll, rec: rec, box: outbox.NewMongo(coll, sink.NewHTTP(rec.URL()), quiet())}
}

// take decrements the stock of product id and stores evs in the same update.
func (f mongoFixture) take(t *testing.T, id string, evs ...event.Event) {
	t.Helper()
	if err := f.tryTake(t.Context(), id, evs...); err != nil {
		t.Fatal(err)
	}
}

// tryTake is take for other goroutines than the test's.
func (f mongoFixture) tryTake(ctx context.Context, id string, evs ...event.Event) error {
	set, err := outbox.MongoSet(evs...)
	if err != nil {
		return err
	}
	res, err := f.coll.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$inc": bson.M{"stock": -1}, "$set": set})
	if err != nil {
		return err
	}
	if res.ModifiedCount != 1 {
		return fmt.Errorf("update of %s modified %d", id, res.ModifiedCount)
	}
	return nil
}

func (f mongoFixture) relay(t *testing.T, limit, want int) {
	t.Helper()
	n, err := f.box.Relay(t.Context(), limit)
	if err != nil {
		t.Fatalf("relay: %v", err)
	}
	if n != want {
		t.Fatalf("relay sent %d, want %d", n, want)
	}
}

// withOutbox counts documents that still carry an outbox field.
func (f mongoFixture) withOutbox(t *testing.T) int64 {
	t.Helper()
	n, err := f.coll.CountDocuments(t.Context(), bson.M{outbox.MongoField: bson.M{"$exists": true}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMongoOutbox(t *testing.T) {
	tests := map[string]struct {
		run     func(t *testing.T, f mongoFixture)
		wantIDs []string
	}{
		"crash before publish: relay delivers exactly once": {
			run: func(t *testing.T, f mongoFixture) {
				f.take(t, "p1", newEvent(t, "e1"))
				f.relay(t, 10, 1)
				f.relay(t, 10, 0)
				if n := f.withOutbox(t); n != 0 {
					t.Fatalf("%d documents keep an outbox field", n)
				}
			},
			wantIDs: []string{"e1"},
		},
		"publish removes the entries": {
			run: func(t *testing.T, f mongoFixture) {
				e1, e2 := newEvent(t, "e1"), newEvent(t, "e2")
				f.take(t, "p1", e1, e2)
				f.box.Publish(t.Context(), "p1", e1, e2)
				if n := f.withOutbox(t); n != 0 {
					t.Fatalf("%d documents keep an outbox field", n)
				}
				f.relay(t, 10, 0)
			},
			wantIDs: []string{"e1", "e2"},
		},
		"sink down at publish: left for the relay": {
			run: func(t *testing.T, f mongoFixture) {
				e := newEvent(t, "e1")
				f.take(t, "p1", e)
				f.rec.FailWith(http.StatusServiceUnavailable)
				f.box.Publish(t.Context(), "p1", e)
				if n := f.withOutbox(t); n != 1 {
					t.Fatalf("%d documents with pending events, want 1", n)
				}
				if _, err := f.box.Relay(t.Context(), 10); err == nil {
					t.Fatal("relay to a down sink succeeded")
				}
				f.rec.FailWith(0)
				f.relay(t, 10, 1)
			},
			wantIDs: []string{"e1"},
		},
		"relay sends oldest first across documents, within its limit": {
			run: func(t *testing.T, f mongoFixture) {
				f.take(t, "p1", newEvent(t, "e1"))
				f.take(t, "p2", newEvent(t, "e2"))
				f.take(t, "p1", newEvent(t, "e3"), newEvent(t, "e4"))
				f.relay(t, 3, 3)
				f.relay(t, 10, 1)
			},
			wantIDs: []string{"e1", "e2", "e3", "e4"},
		},
		"relay stops at the first refused event": {
			run: func(t *testing.T, f mongoFixture) {
				f.take(t, "p1", newEvent(t, "e1"))
				f.take(t, "p2", newEvent(t, "e2"))
				f.take(t, "p1", newEvent(t, "e3"))
				picky := outbox.NewMongo(f.coll, refusing{next: sink.NewHTTP(f.rec.URL()), refuse: map[string]bool{"e2": true}}, quiet())
				n, err := picky.Relay(t.Context(), 10)
				if !errors.Is(err, errRefused) || n != 1 {
					t.Fatalf("relay = %d, %v; want 1, refused", n, err)
				}
				f.relay(t, 10, 2)
			},
			wantIDs: []string{"e1", "e2", "e3"},
		},
		"an event refused for good is set aside and the relay goes on": {
			run: func(t *testing.T, f mongoFixture) {
				f.take(t, "p1", newEvent(t, "e1"))
				f.take(t, "p2", newEvent(t, "e2"))
				f.take(t, "p1", newEvent(t, "e3"))
				var aside asideRecorder
				picky := outbox.NewMongo(f.coll, refusing{next: sink.NewHTTP(f.rec.URL()), refuse: map[string]bool{"e2": true}, status: 400}, quiet()).WithSetAside(aside.setAside)
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
		"ids with dots survive": {
			run: func(t *testing.T, f mongoFixture) {
				f.take(t, "p1", newEvent(t, "a.b$c"))
				f.relay(t, 10, 1)
				if n := f.withOutbox(t); n != 0 {
					t.Fatalf("%d documents keep an outbox field", n)
				}
			},
			wantIDs: []string{"a.b$c"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newMongoFixture(t)
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
			var doc struct{ Stock int }
			if err := f.coll.FindOne(t.Context(), bson.M{"_id": "p1"}).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if doc.Stock >= 10 {
				t.Fatalf("the change did not land with its events: stock %d", doc.Stock)
			}
		})
	}
}

func TestMongoSetRefusesInvalidEvents(t *testing.T) {
	if _, err := outbox.MongoSet(newEvent(t, "ok"), event.New()); !errors.Is(err, outbox.ErrInvalidEvent) {
		t.Fatalf("err = %v, want ErrInvalidEvent", err)
	}
}
