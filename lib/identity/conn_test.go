package identity_test

import (
	"testing"

	"github.com/knshop/knshop/lib/embedded"
	"github.com/knshop/knshop/lib/identity"
)

// TestConnStop: Stop disconnects a client of the function's own but never
// the process's shared one, and a function that never opened stops cleanly.
func TestConnStop(t *testing.T) {
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
			var c identity.Conn
			cfg := map[string]string{"MONGODB_URI": srv.URI(), "IDENTITY_DATABASE": "conn"}
			if tc.serialize {
				cfg["KNSHOP_SERIALIZE_DB"] = "true"
			}
			if err := c.OpenFrom(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			if c.DB.Name() != "conn" {
				t.Fatalf("database %q, want the one IDENTITY_DATABASE names", c.DB.Name())
			}
			if err := c.Stop(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := c.DB.Client().Ping(t.Context(), nil); (err == nil) != tc.wantPingAfter {
				t.Fatalf("ping after Stop = %v, want answering %t", err, tc.wantPingAfter)
			}
		})
	}
	t.Run("never opened", func(t *testing.T) {
		var c identity.Conn
		if err := c.Stop(t.Context()); err != nil {
			t.Fatalf("Stop before Open = %v", err)
		}
	})
}
