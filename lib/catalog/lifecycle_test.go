package catalog_test

import (
	"errors"
	"testing"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/embedded"
	"github.com/knshop/knshop/lib/mongostore"
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

// TestOpenFromAndClose: OpenFrom opens the catalog cfg names, Close
// disconnects a client of its own but never the process's shared one, and
// a store never opened closes cleanly.
func TestOpenFromAndClose(t *testing.T) {
	srv, err := embedded.StartMongo(t.Context(), t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	tests := map[string]struct {
		serialize     bool
		wantPingAfter bool // the client still answers after Stop
	}{
		"own client is disconnected": {serialize: false, wantPingAfter: false},
		"shared client stays open":   {serialize: true, wantPingAfter: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := map[string]string{"MONGODB_URI": srv.URI(), catalog.DatabaseKey: "hooks"}
			if tc.serialize {
				cfg["KNSHOP_SERIALIZE_DB"] = "true"
			}
			s, err := catalog.OpenFrom(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("ping after OpenFrom: %v", err)
			}
			if err := s.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(t.Context()); (err == nil) != tc.wantPingAfter {
				t.Fatalf("ping after Close = %v, want answering %t", err, tc.wantPingAfter)
			}
		})
	}
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
