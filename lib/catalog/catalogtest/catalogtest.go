// Package catalogtest gives the catalog's tests and the functions that work
// on it a fresh catalog, a way to start a function on it, and products in
// a known state.
package catalogtest

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/storetest"
)

// DB is a fresh catalog of one test.
type DB struct {
	Store *catalog.Store
	// Env points a function at the catalog (merge it into its cfg).
	Env map[string]string
}

// New makes a fresh, uniquely named catalog on the test's MongoDB
// (embedded FerretDB, serialized as `make run` runs it, unless MONGODB_URI
// is set) and opens it.
func New(t testing.TB) *DB {
	t.Helper()
	c := storetest.Mongo(t, catalog.Database)
	s, err := catalog.Open(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &DB{Store: s, Env: c.Env(catalog.Database)}
}

// Start starts f with Env and extra, stops it when the test ends, and
// returns it behind fn.Handler (storetest.StartFunction).
func (d *DB) Start(t testing.TB, f fn.Starter, extra map[string]string) http.Handler {
	t.Helper()
	cfg := maps.Clone(d.Env)
	maps.Copy(cfg, extra)
	return storetest.StartFunction(t, f, cfg)
}

// Started is a function started on a fresh catalog: the catalog, and H,
// the handler the Broker delivers events to.
type Started struct {
	*DB
	H http.Handler
}

// StartNew starts f on a fresh catalog (New, then Start with no extra
// settings).
func StartNew(t testing.TB, f fn.Starter) *Started {
	t.Helper()
	db := New(t)
	return &Started{DB: db, H: db.Start(t, f, nil)}
}

// AddProduct stores a product with stock units in s and returns its id.
func AddProduct(t testing.TB, s *catalog.Store, stock int64) string {
	t.Helper()
	now := catalog.Now()
	p := catalog.Product{
		ID: ids.New(), SellerID: ids.New(), Name: "Mug", Description: "A mug",
		Category: "kitchen", Price: money.New(1200, "USD"), Stock: stock,
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.Create(t.Context(), p, nil); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// Counters reads a product's stock counters, deleted or not.
func Counters(t testing.TB, s *catalog.Store, id string) (stock, reserved, sold int64) {
	t.Helper()
	var c struct {
		Stock    int64 `bson:"stock"`
		Reserved int64 `bson:"reserved"`
		Sold     int64 `bson:"sold"`
	}
	if err := s.Products().FindOne(t.Context(), map[string]any{"_id": id}).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c.Stock, c.Reserved, c.Sold
}

// Delete soft-deletes product id, as the products route does.
func Delete(t testing.TB, s *catalog.Store, id string) {
	t.Helper()
	_, err := s.Modify(t.Context(), id, func(p *catalog.Product) (catalog.Extra, error) {
		at := catalog.Now()
		p.DeletedAt = &at
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
