package storetest

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/knshop/knshop/lib/embedded"
	"github.com/knshop/knshop/lib/mongostore"
)

// embeddedMongo is the FerretDB shared by every test of the binary.
var embeddedMongo struct {
	once sync.Once
	srv  *embedded.Mongo
	err  error
}

// Mongo returns a fresh, uniquely named database: on the server of
// MONGODB_URI when set, else on an embedded FerretDB (with Serialize).
// The database is dropped when t ends.
func Mongo(t testing.TB, database string) mongostore.Config {
	t.Helper()
	c := mongostore.Config{URI: os.Getenv("MONGODB_URI"), Database: uniqueName(t, database)}
	if c.URI == "" {
		embeddedMongo.once.Do(func() {
			dir, err := os.MkdirTemp("", "knshop-storetest-mongo-")
			if err != nil {
				embeddedMongo.err = err
				return
			}
			embeddedMongo.srv, embeddedMongo.err = embedded.StartMongo(context.Background(), dir, "127.0.0.1:0")
		})
		if embeddedMongo.err != nil {
			t.Fatalf("storetest: embedded mongo: %v", embeddedMongo.err)
		}
		c.URI = embeddedMongo.srv.URI()
		c.Serialize = true
	}
	t.Cleanup(func() {
		ctx := context.Background()
		db, err := mongostore.Open(ctx, c)
		if err != nil {
			t.Errorf("storetest: drop %s: %v", c.Database, err)
			return
		}
		if err := db.Drop(ctx); err != nil {
			t.Errorf("storetest: drop %s: %v", c.Database, err)
		}
		if !c.Serialize {
			if err := db.Client().Disconnect(ctx); err != nil {
				t.Errorf("storetest: disconnect: %v", err)
			}
		}
	})
	return c
}
