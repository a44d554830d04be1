package catalog_test

import (
	"testing"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/catalog/catalogtest"
)

// newStore opens a catalog on a fresh database of the test's MongoDB
// (embedded FerretDB, serialized as `make run` sets it up, unless
// MONGODB_URI is set).
func newStore(t testing.TB) *catalog.Store { t.Helper(); return catalogtest.New(t).Store }

// addProduct stores a product with stock units and returns its id.
var addProduct = catalogtest.AddProduct

// counters reads a product's stock counters, deleted or not.
var counters = catalogtest.Counters

var deleteProduct = catalogtest.Delete
