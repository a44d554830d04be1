package storetest

import (
	"context"
	"testing"

	"github.com/knshop/knshop/lib/areadb"
	"github.com/knshop/knshop/lib/embedded"
)

// MongoStore is what every MongoDB store a function opens has: the runtime
// pings it for readiness and closes it at stop.
type MongoStore interface {
	Ping(ctx context.Context) error
	Close(ctx context.Context) error
}

// MongoLifecycle checks the lifecycle every MongoDB store shares, on an
// embedded server of its own: open (a store's OpenFrom) opens the database
// <DATABASE>_DATABASE names (checked when name, which reads it from the
// store, is not nil), and the store answers;
// Close disconnects a client of the store's own but never the process's
// shared (serialized) one; and a store never opened (S's zero value)
// closes cleanly and does not answer.
func MongoLifecycle[S MongoStore](t *testing.T, database string, open func(context.Context, map[string]string) (S, error), name func(S) string) {
	t.Helper()
	srv, err := embedded.StartMongo(t.Context(), t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	for test, shared := range map[string]bool{"own client is disconnected": false, "shared client stays open": true} {
		t.Run(test, func(t *testing.T) {
			cfg := map[string]string{"MONGODB_URI": srv.URI(), areadb.Key(database): "lifecycle"}
			if shared {
				cfg["KNSHOP_SERIALIZE_DB"] = "true"
			}
			s, err := open(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if name != nil && name(s) != "lifecycle" {
				t.Fatalf("database %q, want the one %s names", name(s), areadb.Key(database))
			}
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("ping after opening: %v", err)
			}
			if err := s.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(t.Context()); (err == nil) != shared {
				t.Fatalf("ping after Close = %v, want answering %t", err, shared)
			}
		})
	}
	t.Run("never opened", func(t *testing.T) {
		var s S
		if err := s.Close(t.Context()); err != nil {
			t.Fatalf("Close of a store never opened = %v", err)
		}
		if err := s.Ping(t.Context()); err == nil {
			t.Fatal("a store never opened answers")
		}
	})
}
