package catalog_test

import (
	"errors"
	"testing"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/storetest"
)

func TestConfigFrom(t *testing.T) {
	tests := map[string]struct {
		cfg     map[string]string
		wantDB  string
		wantErr error
		wantSer bool
	}{
		"default database":     {cfg: map[string]string{"MONGODB_URI": "mongodb://h:1/"}, wantDB: "catalog"},
		"database of the test": {cfg: map[string]string{"MONGODB_URI": "mongodb://h:1/", catalog.DatabaseKey: "catalog_t1"}, wantDB: "catalog_t1"},
		"serialized":           {cfg: map[string]string{"MONGODB_URI": "mongodb://h:1/", "KNSHOP_SERIALIZE_DB": "true"}, wantDB: "catalog", wantSer: true},
		"no uri":               {cfg: map[string]string{catalog.DatabaseKey: "x"}, wantErr: mongostore.ErrConfig},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := catalog.ConfigFrom(tc.cfg)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && (c.Database != tc.wantDB || c.Serialize != tc.wantSer) {
				t.Fatalf("config %+v, want database %q serialize %t", c, tc.wantDB, tc.wantSer)
			}
		})
	}
}

// TestOpenFromAndClose: the lifecycle every MongoDB store shares
// (storetest.MongoLifecycle), and a store never opened is ErrNotOpen.
func TestOpenFromAndClose(t *testing.T) {
	storetest.MongoLifecycle(t, catalog.Database, catalog.OpenFrom, nil)
	t.Run("unstarted", func(t *testing.T) {
		var s *catalog.Store
		if err := s.Close(t.Context()); err != nil {
			t.Fatalf("Close of a store never opened = %v", err)
		}
		if err := s.Ping(t.Context()); !errors.Is(err, catalog.ErrNotOpen) {
			t.Fatalf("Ping of a store never opened = %v, want ErrNotOpen", err)
		}
	})
}
