package catalog_test

import (
	"testing"
	"time"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/storetest"
)

// newStore opens a catalog on a fresh database of the test's MongoDB
// (embedded FerretDB, serialized as `make run` sets it up, unless
// MONGODB_URI is set).
func newStore(t testing.TB) *catalog.Store {
	t.Helper()
	s, err := catalog.Open(t.Context(), storetest.Mongo(t, "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// addProduct stores a product with stock units and returns its id.
func addProduct(t testing.TB, s *catalog.Store, stock int64) string {
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

// counters reads a product's stock counters, deleted or not.
func counters(t testing.TB, s *catalog.Store, id string) (stock, reserved, sold int64) {
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

func deleteProduct(t testing.TB, s *catalog.Store, id string) {
	t.Helper()
	_, err := s.Modify(t.Context(), id, func(p *catalog.Product) (catalog.Extra, error) {
		at := time.Now().UTC()
		p.DeletedAt = &at
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
