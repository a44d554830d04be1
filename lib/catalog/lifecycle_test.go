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

// TestHooks: Start opens the catalog cfg names, Stop disconnects a client
// of its own but never the process's shared one, and an unstarted
// function stops cleanly.
func TestHooks(t *testing.T) {
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
			var h catalog.Hooks
			cfg := map[string]string{"MONGODB_URI": srv.URI(), catalog.DatabaseKey: "hooks"}
			if tc.serialize {
				cfg["KNSHOP_SERIALIZE_DB"] = "true"
			}
			if err := h.Start(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			if err := h.Store.Ping(t.Context()); err != nil {
				t.Fatalf("ping after Start: %v", err)
			}
			if err := h.Stop(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := h.Store.Ping(t.Context()); (err == nil) != tc.wantPingAfter {
				t.Fatalf("ping after Stop = %v, want answering %t", err, tc.wantPingAfter)
			}
		})
	}
	t.Run("unstarted", func(t *testing.T) {
		var h catalog.Hooks
		if err := h.Stop(t.Context()); err != nil {
			t.Fatalf("Stop before Start = %v", err)
		}
		if err := h.Store.Ping(t.Context()); !errors.Is(err, catalog.ErrNotOpen) {
			t.Fatalf("Ping before Start = %v, want ErrNotOpen", err)
		}
	})
}
