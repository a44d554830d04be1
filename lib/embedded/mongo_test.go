package embedded_test

import (
	"context"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/embedded"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func startMongo(t *testing.T, dir string) *mongo.Client {
	t.Helper()
	m, err := embedded.StartMongo(t.Context(), dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	client, err := mongo.Connect(options.Client().ApplyURI(m.URI()).SetMaxPoolSize(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := client.Disconnect(context.Background()); err != nil {
			t.Errorf("disconnect: %v", err)
		}
	})
	return client
}

// TestFerretDBFeatures measures what FerretDB v1 does; docs/local-run.md
// lists the results. A case fails when FerretDB's behaviour changes, so
// the doc cannot silently go stale.
func TestFerretDBFeatures(t *testing.T) {
	client := startMongo(t, t.TempDir())
	coll := client.Database("features").Collection("docs")
	ctx := t.Context()
	seed := func(t *testing.T) {
		t.Helper()
		if err := coll.Drop(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := coll.InsertMany(ctx, []any{
			bson.M{"_id": "a", "n": 1, "outbox": bson.M{"e1": bson.M{"seq": 1}}, "items": bson.A{bson.M{"id": "x", "q": 1}, bson.M{"id": "y", "q": 2}}},
			bson.M{"_id": "b", "n": 2, "outbox": bson.M{}},
			bson.M{"_id": "c", "n": 3},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func(filter any) func(t *testing.T) (int64, error) {
		return func(t *testing.T) (int64, error) { return coll.CountDocuments(ctx, filter) }
	}
	update := func(filter, upd any) func(t *testing.T) (int64, error) {
		return func(t *testing.T) (int64, error) {
			res, err := coll.UpdateOne(ctx, filter, upd)
			if err != nil {
				return 0, err
			}
			return res.ModifiedCount, nil
		}
	}
	tests := map[string]struct {
		run       func(t *testing.T) (int64, error)
		supported bool
		want      int64
	}{
		"$exists":                      {run: count(bson.M{"outbox": bson.M{"$exists": true}}), supported: true, want: 2},
		"equality with empty document": {run: count(bson.M{"outbox": bson.M{}}), supported: true, want: 1},
		"dotted $exists":               {run: count(bson.M{"outbox.e1": bson.M{"$exists": true}}), supported: true, want: 1},
		"$set dotted path":             {run: update(bson.M{"_id": "b"}, bson.M{"$set": bson.M{"outbox.e2": bson.M{"seq": 2}}}), supported: true, want: 1},
		"$unset dotted path":           {run: update(bson.M{"_id": "a"}, bson.M{"$unset": bson.M{"outbox.e1": ""}}), supported: true, want: 1},
		"$inc with condition":          {run: update(bson.M{"_id": "a", "n": bson.M{"$gte": 1}}, bson.M{"$inc": bson.M{"n": -1}}), supported: true, want: 1},
		"$elemMatch":                   {run: count(bson.M{"items": bson.M{"$elemMatch": bson.M{"id": "x", "q": 1}}})},
		"positional $ update":          {run: update(bson.M{"_id": "a", "items.id": "x"}, bson.M{"$set": bson.M{"items.$.q": 5}})},
		// No error, no effect (MongoDB removes the item).
		"$pull by subdocument field does nothing": {run: update(bson.M{"_id": "a"}, bson.M{"$pull": bson.M{"items": bson.M{"id": "x"}}}), supported: true, want: 0},
		"$text": {run: count(bson.M{"$text": bson.M{"$search": "x"}})},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			seed(t)
			got, err := tc.run(t)
			if !tc.supported {
				if err == nil {
					t.Fatalf("supported now (result %d): update docs/local-run.md", got)
				}
				t.Logf("unsupported, as documented: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("not supported: %v", err)
			}
			if got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestFerretDBNoTransactions(t *testing.T) {
	client := startMongo(t, t.TempDir())
	ctx := t.Context()
	sess, err := client.StartSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.EndSession(ctx)
	_, err = sess.WithTransaction(ctx, func(ctx context.Context) (any, error) {
		return client.Database("tx").Collection("c").InsertOne(ctx, bson.M{"_id": 1})
	})
	if err == nil {
		t.Fatal("a transaction worked: update docs/local-run.md")
	}
}

func TestFerretDBTTLIndex(t *testing.T) {
	client := startMongo(t, t.TempDir())
	_, err := client.Database("ttl").Collection("c").Indexes().CreateOne(t.Context(), mongo.IndexModel{
		Keys:    bson.D{{Key: "at", Value: 1}},
		Options: options.Index().SetExpireAfterSeconds(1),
	})
	if err == nil {
		t.Fatal("a TTL index was created: update docs/local-run.md")
	}
}

func TestMongoDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	first, err := embedded.StartMongo(ctx, dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	write := func(uri string) error {
		c, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			return err
		}
		_, err = c.Database("keep").Collection("c").InsertOne(ctx, bson.M{"_id": "kept", "at": time.Now().UTC()})
		if derr := c.Disconnect(ctx); err == nil {
			err = derr
		}
		return err
	}
	if err := write(first.URI()); err != nil {
		t.Fatal(err)
	}
	first.Close()
	client := startMongo(t, dir)
	n, err := client.Database("keep").Collection("c").CountDocuments(ctx, bson.M{"_id": "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d documents after restart, want 1", n)
	}
}
