package identity_test

import (
	"testing"

	"github.com/knshop/knshop/lib/embedded"
	"github.com/knshop/knshop/lib/identity"
)

// TestDBClose: Close disconnects a client of the function's own but never
// the process's shared one, and a DB never opened closes cleanly.
func TestDBClose(t *testing.T) {
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
			cfg := map[string]string{"MONGODB_URI": srv.URI(), "IDENTITY_DATABASE": "conn"}
			if tc.serialize {
				cfg["KNSHOP_SERIALIZE_DB"] = "true"
			}
			db, err := identity.OpenFrom(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if db.Name() != "conn" {
				t.Fatalf("database %q, want the one IDENTITY_DATABASE names", db.Name())
			}
			if err := db.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := db.Ping(t.Context()); (err == nil) != tc.wantPingAfter {
				t.Fatalf("ping after Close = %v, want answering %t", err, tc.wantPingAfter)
			}
		})
	}
	t.Run("never opened", func(t *testing.T) {
		var db *identity.DB
		if err := db.Close(t.Context()); err != nil {
			t.Fatalf("Close of a DB never opened = %v", err)
		}
		if err := db.Ping(t.Context()); err == nil {
			t.Fatal("a DB never opened answers")
		}
	})
}
