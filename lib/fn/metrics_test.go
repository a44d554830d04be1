package fn_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/storetest"
)

func postEvent(t *testing.T, h http.Handler, id, typ string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, eventRequest(id, typ, ""))
	return rec.Code
}

// failing fails every event with err.
type failing struct{ err error }

func (f failing) Handle(context.Context, event.Event) (*event.Event, error) { return nil, f.err }

// flaky fails its first n events transiently, then handles them.
type flaky struct{ fails int }

func (f *flaky) Handle(context.Context, event.Event) (*event.Event, error) {
	if f.fails > 0 {
		f.fails--
		return nil, errors.New("db down")
	}
	return nil, nil
}

func TestMetricsCountEventsByTypeAndOutcome(t *testing.T) {
	// Not parallel: the counters are the process's.
	handled, err := fn.NewInstance("metrics-events", &flaky{fails: 2}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	permanent, err := fn.NewInstance("metrics-permanent", failing{err: fn.Permanent(errors.New("bad"))}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range []*fn.Instance{handled, permanent} {
		if err := inst.Start(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	}
	before := storetest.Metrics(t, handled)
	codes := []int{
		postEvent(t, handled, "1", "ORDER_PLACED"), // 500: retry
		postEvent(t, handled, "1", "ORDER_PLACED"), // 500: retry
		postEvent(t, handled, "1", "ORDER_PLACED"), // 204: handled
		postEvent(t, handled, "2", "STOCK_RESERVED"),
		postEvent(t, handled, "3", "made.up.type"),
		postEvent(t, permanent, "4", "ORDER_PLACED"),
	}
	if want := []int{500, 500, 204, 204, 204, 400}; !slices.Equal(codes, want) {
		t.Fatalf("answers %v, want %v", codes, want)
	}
	// Not a CloudEvent at all.
	rec := httptest.NewRecorder()
	handled.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x")))
	after := storetest.Metrics(t, permanent) // one registry: any function's port shows all
	for _, tc := range []struct {
		labels map[string]string
		delta  float64
	}{
		{map[string]string{"function": "metrics-events", "type": "ORDER_PLACED", "outcome": "retry"}, 2},
		{map[string]string{"function": "metrics-events", "type": "ORDER_PLACED", "outcome": "handled"}, 1},
		{map[string]string{"function": "metrics-events", "type": "STOCK_RESERVED", "outcome": "handled"}, 1},
		{map[string]string{"function": "metrics-events", "type": "other", "outcome": "handled"}, 1},
		{map[string]string{"function": "metrics-events", "type": "other", "outcome": "invalid"}, 1},
		{map[string]string{"function": "metrics-permanent", "type": "ORDER_PLACED", "outcome": "permanent"}, 1},
	} {
		got := storetest.MetricValue(after, "knshop_events_handled_total", tc.labels) - storetest.MetricValue(before, "knshop_events_handled_total", tc.labels)
		if got != tc.delta {
			t.Errorf("knshop_events_handled_total%v moved by %v, want %v", tc.labels, got, tc.delta)
		}
	}
	lat := map[string]string{"function": "metrics-events", "type": "ORDER_PLACED"}
	if got := storetest.MetricValue(after, "knshop_event_handle_duration_seconds", lat) - storetest.MetricValue(before, "knshop_event_handle_duration_seconds", lat); got != 3 {
		t.Errorf("latency histogram count moved by %v, want 3", got)
	}
	req := map[string]string{"function": "metrics-events", "route": "event", "method": "POST", "code": "500"}
	if got := storetest.MetricValue(after, "knshop_http_requests_total", req) - storetest.MetricValue(before, "knshop_http_requests_total", req); got != 2 {
		t.Errorf("knshop_http_requests_total%v moved by %v, want 2", req, got)
	}
	if _, ok := after["go_goroutines"]; !ok {
		t.Error("the Go runtime's collectors are missing")
	}
}

// routed is an HTTP function with a ServeMux, as knshop's HTTP functions are.
type routed struct{ mux *http.ServeMux }

func (f routed) Handle(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

func TestMetricsLabelRequestsByRoutePattern(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			http.Error(w, "no", http.StatusNotFound)
		}
	})
	inst, err := fn.NewInstance("metrics-http", routed{mux}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	before := storetest.Metrics(t, inst)
	for _, p := range []string{"/api/things/1", "/api/things/2", "/api/things/missing", "/nowhere"} {
		inst.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	inst.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("MADEUP", "/api/things/1", nil))
	after := storetest.Metrics(t, inst)
	for _, tc := range []struct {
		labels map[string]string
		delta  float64
	}{
		{map[string]string{"function": "metrics-http", "route": "GET /api/things/{id}", "code": "200"}, 2},
		{map[string]string{"function": "metrics-http", "route": "GET /api/things/{id}", "code": "404"}, 1},
		{map[string]string{"function": "metrics-http", "route": "unmatched", "code": "404"}, 1},
		{map[string]string{"function": "metrics-http", "method": "other"}, 1},
	} {
		got := storetest.MetricValue(after, "knshop_http_requests_total", tc.labels) - storetest.MetricValue(before, "knshop_http_requests_total", tc.labels)
		if got != tc.delta {
			t.Errorf("knshop_http_requests_total%v moved by %v, want %v", tc.labels, got, tc.delta)
		}
	}
}
