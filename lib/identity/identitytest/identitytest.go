// Package identitytest gives the identity functions' tests one fresh
// identity database, the signing keys and an event sink, as the cfg map
// their Start reads.
package identitytest

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/knshop/knshop/lib/auth/authtest"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/identity"
	"github.com/knshop/knshop/lib/storetest"
)

// Env is what the identity functions of one test share.
type Env struct {
	Cfg  map[string]string // complete cfg for Start
	Keys *authtest.Keys
	Sink *storetest.EventRecorder
}

// New makes a fresh identity database (embedded FerretDB, or MONGODB_URI
// when set), a key pair and a recording sink. Password hashing is made
// cheap (1 MiB, 1 pass) so tests spend their time on behaviour; the
// benchmarks measure the real cost.
func New(t testing.TB) *Env {
	t.Helper()
	store := storetest.Mongo(t, identity.Database)
	keys := authtest.New(t)
	rec := storetest.NewEventRecorder(t)
	cfg := store.Env(identity.Database)
	maps.Copy(cfg, map[string]string{"K_SINK": rec.URL(), "AUTH_ARGON2_MEMORY_KIB": "1024", "AUTH_ARGON2_TIME": "1"})
	maps.Copy(cfg, keys.Env)
	return &Env{Cfg: cfg, Keys: keys, Sink: rec}
}

// With returns a copy of the cfg with extra entries.
func (e *Env) With(extra map[string]string) map[string]string {
	out := maps.Clone(e.Cfg)
	maps.Copy(out, extra)
	return out
}

// DB opens the identity database the cfg names, for a test to look at or
// prepare what the functions store; it is closed when the test ends.
func (e *Env) DB(t testing.TB) *mongo.Database {
	t.Helper()
	db, err := identity.OpenFrom(context.Background(), e.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return db.Database
}

// HandleConcurrently hands e to f n times at once, as concurrent
// deliveries of one event reach a function, and returns their errors
// joined.
func HandleConcurrently(f fn.EventFunction, e event.Event, n int) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = f.Handle(context.Background(), e) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}
