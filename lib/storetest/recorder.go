package storetest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// EventRecorder is a CloudEvents sink over HTTP for tests: it accepts events
// POSTed in binary or structured mode, answers 202, and keeps them in
// arrival order. Point K_SINK at URL().
type EventRecorder struct {
	srv *httptest.Server

	mu     sync.Mutex
	events []event.Event
	status int
	grew   chan struct{} // closed and replaced whenever an event arrives
}

// NewEventRecorder starts a recorder; it stops when t ends.
func NewEventRecorder(t testing.TB) *EventRecorder {
	t.Helper()
	r := &EventRecorder{grew: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// URL is the sink's address.
func (r *EventRecorder) URL() string { return r.srv.URL }

// FailWith makes the sink answer every request with status (and record
// nothing) until FailWith(0) restores normal service. It simulates a Broker
// that is down or refusing events.
func (r *EventRecorder) FailWith(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = status
}

// Events returns a copy of the events received so far, oldest first.
func (r *EventRecorder) Events() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]event.Event, len(r.events))
	copy(out, r.events)
	return out
}

// WaitFor waits until at least n events arrived and returns them; it fails
// the test when timeout passes first.
func (r *EventRecorder) WaitFor(t testing.TB, n int, timeout time.Duration) []event.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		got, grew := len(r.events), r.grew
		r.mu.Unlock()
		if got >= n {
			return r.Events()
		}
		select {
		case <-grew:
		case <-deadline.C:
			t.Fatalf("storetest: %d events arrived within %s, want %d", got, timeout, n)
			return nil
		}
	}
}

func (r *EventRecorder) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST a CloudEvent", http.StatusMethodNotAllowed)
		return
	}
	r.mu.Lock()
	status := r.status
	r.mu.Unlock()
	if status != 0 {
		http.Error(w, "recorder told to fail", status)
		return
	}
	e, err := cehttp.NewEventFromHTTPRequest(req)
	if err != nil {
		http.Error(w, "not a CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := e.Validate(); err != nil {
		http.Error(w, "invalid CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.events = append(r.events, *e)
	close(r.grew)
	r.grew = make(chan struct{})
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}
