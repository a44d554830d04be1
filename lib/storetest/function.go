package storetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/knshop/knshop/lib/fn"
)

// StartFunction starts function f with cfg the way the runtime does (an
// fn.Instance: what f keeps with fn.Use is pinged for readiness and closed
// at stop), stops it when the test ends, and returns the instance: the
// handler the Broker delivers events to, with the health routes.
func StartFunction(t testing.TB, f fn.Starter, cfg map[string]string) http.Handler {
	t.Helper()
	return Instance(t, fmt.Sprintf("%T", f), f, cfg, nil)
}

// ServeFunction runs HTTP function f as name with cfg behind a loopback
// server, as the gateway reaches it, and returns the server's URL. The
// runtime's logs are discarded. The server closes and f stops when the
// test ends.
func ServeFunction(t testing.TB, name string, f fn.HTTPFunction, cfg map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(Instance(t, name, f, cfg, Discard))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Discard is a logger that writes nothing.
var Discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// Instance starts f as the function name with cfg in an fn.Instance that
// logs to log (nil: slog's default), and stops it when the test ends
// (after the cleanups registered later, such as a server's Close).
func Instance(t testing.TB, name string, f any, cfg map[string]string, log *slog.Logger) *fn.Instance {
	t.Helper()
	inst, err := fn.NewInstance(name, f, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := inst.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return inst
}

// Keep runs start (a function's own start with a typed configuration) the
// way the runtime's Start does, so what it keeps with fn.Use is closed when
// the test ends; a failing start fails the test.
func Keep(t testing.TB, start func(ctx context.Context) error) {
	t.Helper()
	closeAll, err := fn.Keep(context.Background(), start)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := closeAll(context.Background()); err != nil {
			t.Error(err)
		}
	})
}
