package fn_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/storetest"
)

// seen records the traceparent each call of a function found in its context.
type seen struct {
	mu  sync.Mutex
	tps []string
}

func (s *seen) add(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tps = append(s.tps, events.Traceparent(ctx))
}

func (s *seen) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tps[len(s.tps)-1]
}

type tracedEvents struct{ *seen }

func (f tracedEvents) Handle(ctx context.Context, _ event.Event) (*event.Event, error) {
	f.add(ctx)
	return nil, nil
}

type tracedHTTP struct{ *seen }

func (f tracedHTTP) Handle(w http.ResponseWriter, r *http.Request) {
	f.add(r.Context())
	w.WriteHeader(http.StatusAccepted)
}

const (
	inTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	inSpan  = "00f067aa0ba902b7"
	inTP    = "00-" + inTrace + "-" + inSpan + "-01"
)

func start(t *testing.T, name string, f any, cfg map[string]string) *fn.Instance {
	t.Helper()
	inst, err := fn.NewInstance(name, f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Stop(context.Background()) })
	return inst
}

// eventRequest is a binary-mode CloudEvent POST, as the Broker sends, with
// the traceparent extension when tp is set.
func eventRequest(id, typ, tp string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Id": id, "Ce-Type": typ, "Ce-Source": "/test", "Content-Type": "application/json"} {
		r.Header.Set(k, v)
	}
	if tp != "" {
		r.Header.Set("Ce-Traceparent", tp)
	}
	return r
}

func TestEventSpanContinuesTheEventsTrace(t *testing.T) {
	t.Parallel()
	recv := storetest.NewOTLPReceiver(t)
	s := &seen{}
	inst := start(t, "traced-events", tracedEvents{s}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.Endpoint(), "OTEL_BSP_SCHEDULE_DELAY": "20"})
	rec := httptest.NewRecorder()
	inst.ServeHTTP(rec, eventRequest("e-1", "ORDER_PLACED", inTP))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d", rec.Code)
	}
	spans := recv.WaitFor(t, 10*time.Second, func(s []storetest.Span) bool { return len(s) >= 1 })
	sp := spans[0]
	if sp.Service != "traced-events" || sp.TraceID != inTrace || sp.ParentSpanID != inSpan || sp.Name != "handle ORDER_PLACED" {
		t.Fatalf("span %+v: want service traced-events, trace %s, parent %s", sp, inTrace, inSpan)
	}
	if sp.Attributes["cloudevents.event_id"] != "e-1" {
		t.Errorf("span attributes %v", sp.Attributes)
	}
	// What the function publishes carries its own span as the parent of
	// the next function's.
	if want := "00-" + inTrace + "-" + sp.SpanID + "-01"; s.last() != want {
		t.Fatalf("handler saw traceparent %q, want %q", s.last(), want)
	}
}

func TestHTTPSpanStartsOrJoinsATrace(t *testing.T) {
	t.Parallel()
	recv := storetest.NewOTLPReceiver(t)
	s := &seen{}
	inst := start(t, "traced-http", tracedHTTP{s}, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": recv.Endpoint() + "/v1/traces", "OTEL_BSP_SCHEDULE_DELAY": "20"})

	inst.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/api/x", nil))
	root := recv.WaitFor(t, 10*time.Second, func(s []storetest.Span) bool { return len(s) >= 1 })[0]
	if root.ParentSpanID != "" || root.Service != "traced-http" {
		t.Fatalf("a request without traceparent: span %+v, want a root span", root)
	}
	if want := "00-" + root.TraceID + "-" + root.SpanID + "-01"; s.last() != want {
		t.Fatalf("handler saw %q, want %q", s.last(), want)
	}

	req := httptest.NewRequest(http.MethodPost, "/api/x", nil)
	req.Header.Set("traceparent", inTP)
	inst.ServeHTTP(httptest.NewRecorder(), req)
	spans := recv.WaitFor(t, 10*time.Second, func(s []storetest.Span) bool { return len(s) >= 2 })
	if c := spans[1]; c.TraceID != inTrace || c.ParentSpanID != inSpan {
		t.Fatalf("a request with traceparent: span %+v, want a child of %s", c, inTP)
	}
}

func TestWithoutAnEndpointTheTraceparentPassesThrough(t *testing.T) {
	t.Parallel()
	recv := storetest.NewOTLPReceiver(t)
	s := &seen{}
	// OTEL_SDK_DISABLED wins over an endpoint; no endpoint at all is the
	// same path.
	inst := start(t, "untraced", tracedEvents{s}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.Endpoint(), "OTEL_SDK_DISABLED": "true"})
	inst.ServeHTTP(httptest.NewRecorder(), eventRequest("e-1", "ORDER_PLACED", inTP))
	if s.last() != inTP {
		t.Fatalf("handler saw %q, want the event's %q unchanged", s.last(), inTP)
	}
	inst.ServeHTTP(httptest.NewRecorder(), eventRequest("e-1", "ORDER_PLACED", ""))
	if !events.ValidTraceparent(s.last()) {
		t.Fatalf("an event without a trace: handler saw %q, want a new traceparent", s.last())
	}
	if err := inst.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(recv.Spans()); n != 0 {
		t.Fatalf("%d spans exported with tracing off", n)
	}
}
