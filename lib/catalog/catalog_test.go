package catalog_test

import (
	"testing"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestOpenAgain: every catalog function opens the store at start, one after
// another or at the same time, on the same database; each must succeed.
func TestOpenAgain(t *testing.T) {
	tests := map[string]struct{ concurrent bool }{
		"one after another": {},
		"at the same time":  {concurrent: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := storetest.Mongo(t, "catalog")
			errs := make([]error, 4)
			storetest.Repeat(len(errs), tc.concurrent, func(i int) {
				db, err := mongostore.Open(t.Context(), c)
				if err == nil {
					_, err = catalog.New(t.Context(), db)
				}
				errs[i] = err
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("open %d: %v", i, err)
				}
			}
		})
	}
}

// The products' secondary indexes exist where queries use them; on the
// embedded FerretDB v1, which never does, they are not made, and those a
// data directory already has are dropped when the store opens.
func TestProductIndexesWhereUseful(t *testing.T) {
	c := storetest.Mongo(t, "catalog")
	db, err := mongostore.Open(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	useful, err := mongostore.QueriesUseIndexes(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	if c.Serialize && useful {
		t.Fatal("the embedded FerretDB reported as using secondary indexes")
	}
	products := db.Collection(catalog.ProductsCollection)
	if !useful { // as a run before this rule left them
		if _, err := products.Indexes().CreateOne(t.Context(), mongo.IndexModel{Keys: bson.D{{Key: "category", Value: 1}},
			Options: options.Index().SetName("category_1")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := catalog.New(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	list, err := products.Indexes().ListSpecifications(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, sp := range list {
		names[sp.Name] = true
	}
	if names["category_1"] != useful || names["rating.average_-1"] != useful {
		t.Fatalf("indexes %v with queries using indexes: %t", names, useful)
	}
}
