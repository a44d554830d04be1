package catalog_test

import (
	"sync"
	"testing"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/storetest"
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
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				open := func() {
					db, err := mongostore.Open(t.Context(), c)
					if err == nil {
						_, err = catalog.New(t.Context(), db)
					}
					errs[i] = err
				}
				if !tc.concurrent {
					open()
					continue
				}
				wg.Add(1)
				go func() { defer wg.Done(); open() }()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("open %d: %v", i, err)
				}
			}
		})
	}
}
