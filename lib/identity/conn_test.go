package identity_test

import (
	"testing"

	"github.com/knshop/knshop/lib/identity"
	"github.com/knshop/knshop/lib/storetest"
)

// TestDBClose: the lifecycle every MongoDB store shares
// (storetest.MongoLifecycle).
func TestDBClose(t *testing.T) {
	storetest.MongoLifecycle(t, identity.Database, identity.OpenFrom, func(db *identity.DB) string { return db.Name() })
}
