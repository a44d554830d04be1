package mongostore_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestConfigFrom: ConfigFrom is areadb.Read (tested there) on MONGODB_URI,
// and its errors are ErrConfig.
func TestConfigFrom(t *testing.T) {
	got, err := mongostore.ConfigFrom(map[string]string{"MONGODB_URI": "mongodb://h:1/", "KNSHOP_SERIALIZE_MONGODB": "true"}, "catalog")
	if want := (mongostore.Config{URI: "mongodb://h:1/", Database: "catalog", Serialize: true}); err != nil || got != want {
		t.Fatalf("ConfigFrom = %+v, %v; want %+v", got, err, want)
	}
	if _, err := mongostore.ConfigFrom(map[string]string{"KNSHOP_SERIALIZE_DB": "true"}, "catalog"); !errors.Is(err, mongostore.ErrConfig) {
		t.Fatalf("ConfigFrom without MONGODB_URI = %v, want ErrConfig", err)
	}
	if again, err := mongostore.ConfigFrom(got.Env("catalog"), "catalog"); err != nil || again != got {
		t.Fatalf("ConfigFrom(Env) = %+v, %v; want %+v", again, err, got)
	}
}

func TestSerializeSharesOneClient(t *testing.T) {
	c := storetest.Mongo(t, "shared")
	if !c.Serialize {
		t.Skip("MONGODB_URI is set: no embedded server to serialize")
	}
	ctx := t.Context()
	a, err := mongostore.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mongostore.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if a.Client() != b.Client() {
		t.Fatal("two Opens of one database returned two clients")
	}
	other := c
	other.Database = c.Database + "_other"
	o, err := mongostore.Open(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if o.Client() == a.Client() {
		t.Fatal("another database shares the client: its writes would queue behind this one's")
	}
	if err := a.Client().Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, err := mongostore.Open(ctx, c)
	if err != nil {
		t.Fatalf("Open after Disconnect: %v", err)
	}
	if fresh.Client() == a.Client() {
		t.Fatal("Open returned a disconnected client")
	}
}

func TestIsDuplicateKey(t *testing.T) {
	ctx := t.Context()
	db := open(t)
	coll := db.Collection("users")
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "email", Value: 1}},
		Options: options.Index().SetUnique(true),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(ctx, bson.M{"_id": "u1", "email": "a@x"}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		doc  bson.M
		want bool
	}{
		"same _id":          {doc: bson.M{"_id": "u1", "email": "b@x"}, want: true},
		"same unique email": {doc: bson.M{"_id": "u2", "email": "a@x"}, want: true},
		"new":               {doc: bson.M{"_id": "u3", "email": "c@x"}, want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := coll.InsertOne(ctx, tc.doc)
			if got := mongostore.IsDuplicateKey(err); got != tc.want {
				t.Fatalf("IsDuplicateKey(%v) = %t, want %t", err, got, tc.want)
			}
		})
	}
	if mongostore.IsDuplicateKey(nil) {
		t.Fatal("IsDuplicateKey(nil) = true")
	}
}

// TestConcurrentConditionalUpdates is the invariant functions rely on: a
// conditional single-document update (decrement only while enough is left)
// never oversells, however many run at once.
func TestConcurrentConditionalUpdates(t *testing.T) {
	ctx := t.Context()
	coll := open(t).Collection("stock")
	const stock, buyers = 10, 16
	if _, err := coll.InsertOne(ctx, bson.M{"_id": "p1", "stock": stock, "sold": 0}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	won := 0
	storetest.Concurrently(t, buyers, 1, func(int, int) error {
		res, err := coll.UpdateOne(ctx,
			bson.M{"_id": "p1", "stock": bson.M{"$gte": 1}},
			bson.M{"$inc": bson.M{"stock": -1, "sold": 1}})
		if err != nil {
			return err
		}
		mu.Lock()
		won += int(res.ModifiedCount)
		mu.Unlock()
		return nil
	})
	var got struct{ Stock, Sold int }
	if err := coll.FindOne(ctx, bson.M{"_id": "p1"}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if won != stock || got.Stock != 0 || got.Sold != stock {
		t.Fatalf("won %d, stock %d, sold %d; want %d, 0, %d", won, got.Stock, got.Sold, stock, stock)
	}
}

func open(t *testing.T) *mongo.Database {
	t.Helper()
	c := storetest.Mongo(t, "ms")
	db, err := mongostore.Open(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Serialize {
		t.Cleanup(func() {
			if err := db.Client().Disconnect(context.Background()); err != nil {
				t.Errorf("disconnect: %v", err)
			}
		})
	}
	return db
}

// Close leaves the process's shared client connected, and disconnects a
// client of the caller's own.
func TestCloseSparesTheSharedClient(t *testing.T) {
	c := storetest.Mongo(t, "closeshared")
	ctx := t.Context()
	if c.Serialize {
		shared, err := mongostore.Open(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := mongostore.Close(ctx, shared); err != nil {
			t.Fatal(err)
		}
		if err := shared.Client().Ping(ctx, nil); err != nil {
			t.Fatalf("Close disconnected the shared client: %v", err)
		}
	}
	own := c
	own.Serialize = false
	db, err := mongostore.Open(ctx, own)
	if err != nil {
		t.Fatal(err)
	}
	if err := mongostore.Close(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := db.Client().Ping(ctx, nil); err == nil {
		t.Fatal("Close left a client of the caller's own connected")
	}
	if err := mongostore.Close(ctx, nil); err != nil {
		t.Fatalf("Close(nil) = %v", err)
	}
}

// OpenConcurrent, for inserts and reads, hands out one client per database
// beside the serialized one, and Close leaves it to the other functions.
func TestOpenConcurrentSharesItsOwnClient(t *testing.T) {
	c := storetest.Mongo(t, "concurrent")
	ctx := t.Context()
	serialized, err := mongostore.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	a, err := mongostore.OpenConcurrent(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mongostore.OpenConcurrent(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Serialize {
		if err := errors.Join(mongostore.Close(ctx, a), mongostore.Close(ctx, b), mongostore.Close(ctx, serialized)); err != nil {
			t.Fatal(err)
		}
		return // no embedded server: OpenConcurrent is Open
	}
	if a.Client() != b.Client() || a.Client() == serialized.Client() {
		t.Fatal("OpenConcurrent did not share one client of its own per database")
	}
	if err := mongostore.Close(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := b.Client().Ping(ctx, nil); err != nil {
		t.Fatalf("Close disconnected the shared client: %v", err)
	}
}
