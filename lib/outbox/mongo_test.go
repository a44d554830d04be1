package outbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// mongoBackend is the MongoDB outbox on a products-like collection: a
// change takes one unit of a document's stock and stores its events in the
// same update.
type mongoBackend struct {
	coll *mongo.Collection
	sink sink.Sender
}

func newMongoBackend(t *testing.T, s sink.Sender) backend {
	t.Helper()
	db, err := mongostore.Open(t.Context(), storetest.Mongo(t, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	return mongoBackend{coll: db.Collection("products"), sink: s}
}

func (b mongoBackend) write(t *testing.T, key string, evs ...event.Event) {
	t.Helper()
	if err := b.tryWrite(t.Context(), key, evs...); err != nil {
		t.Fatal(err)
	}
}

// tryWrite is write for other goroutines than the test's.
func (b mongoBackend) tryWrite(ctx context.Context, key string, evs ...event.Event) error {
	set, err := outbox.MongoSet(evs...)
	if err != nil {
		return err
	}
	_, err = b.coll.UpdateOne(ctx, bson.M{"_id": key}, bson.M{"$inc": bson.M{"stock": -1}, "$set": set},
		options.UpdateOne().SetUpsert(true))
	return err
}

func (b mongoBackend) publish(t *testing.T, key string, evs ...event.Event) {
	outbox.NewMongo(b.coll, b.sink, quiet()).Publish(t.Context(), key, evs...)
}

func (b mongoBackend) relayTo(s sink.Sender, aside outbox.SetAside) relayer {
	o := outbox.NewMongo(b.coll, s, quiet())
	if aside != nil {
		o = o.WithSetAside(aside)
	}
	return o
}

func (b mongoBackend) unsent(t *testing.T) int {
	t.Helper()
	cur, err := b.coll.Find(t.Context(), bson.M{outbox.MongoField: bson.M{"$exists": true}})
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		Outbox map[string]any `bson:"outbox"`
	}
	if err := cur.All(t.Context(), &docs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range docs {
		n += len(d.Outbox)
	}
	return n
}

func (b mongoBackend) changed(t *testing.T, key string) bool {
	t.Helper()
	var doc struct{ Stock int }
	if err := b.coll.FindOne(t.Context(), bson.M{"_id": key}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Stock < 0
}

func TestMongoOutbox(t *testing.T) { runOutboxSuite(t, newMongoBackend) }

func TestMongoSetRefusesInvalidEvents(t *testing.T) {
	if _, err := outbox.MongoSet(newEvent(t, "ok"), event.New()); !errors.Is(err, outbox.ErrInvalidEvent) {
		t.Fatalf("err = %v, want ErrInvalidEvent", err)
	}
}
