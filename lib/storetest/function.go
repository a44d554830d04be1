package storetest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/knshop/knshop/lib/fn"
)

// StartFunction starts function f with cfg, stops it when the test ends,
// and returns it behind fn.Handler, as the runtime serves it: the handler
// the Broker delivers events to, with the health routes.
func StartFunction(t testing.TB, f fn.Starter, cfg map[string]string) http.Handler {
	t.Helper()
	if err := f.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if s, ok := f.(fn.Stopper); ok {
		t.Cleanup(func() {
			if err := s.Stop(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	h, err := fn.Handler(f)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// ServeFunction runs HTTP function f as name with cfg behind a loopback
// server, as the gateway reaches it, and returns the server's URL. The
// runtime's logs are discarded. The server closes and f stops when the
// test ends.
func ServeFunction(t testing.TB, name string, f fn.HTTPFunction, cfg map[string]string) string {
	t.Helper()
	inst, err := fn.NewInstance(name, f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(inst)
	t.Cleanup(func() {
		srv.Close()
		if err := inst.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return srv.URL
}
