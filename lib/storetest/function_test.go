package storetest_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/storetest"
)

// counter is a function that records its lifecycle: Start fills cfg, Stop
// counts; it answers an event with 204 and a request with cfg["reply"].
type counter struct {
	cfg   map[string]string
	stops int
}

func (c *counter) Start(ctx context.Context, cfg map[string]string) error {
	c.cfg = cfg
	return nil
}

func (c *counter) Stop(ctx context.Context) error { c.stops++; return nil }

type eventCounter struct{ counter }

func (c *eventCounter) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	return nil, nil
}

type httpCounter struct{ counter }

func (c *httpCounter) Handle(w http.ResponseWriter, r *http.Request) {
	if _, err := io.WriteString(w, c.cfg["reply"]); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func TestStartFunction(t *testing.T) {
	f := &eventCounter{}
	t.Run("started", func(t *testing.T) {
		h := storetest.StartFunction(t, f, map[string]string{"k": "v"})
		e := eventstest.Build(t, events.UserDeletedData{UserID: "u"})
		if code, _ := storetest.Deliver(t, h, e); code != http.StatusNoContent || f.cfg["k"] != "v" || f.stops != 0 {
			t.Fatalf("status %d, cfg %v, stops %d", code, f.cfg, f.stops)
		}
	})
	if f.stops != 1 {
		t.Fatalf("stopped %d times when the test ended, want 1", f.stops)
	}
}

func TestServeFunction(t *testing.T) {
	f := &httpCounter{}
	t.Run("served", func(t *testing.T) {
		url := storetest.ServeFunction(t, "test", f, map[string]string{"reply": "hello"})
		resp, err := http.Get(url + "/anything")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK || string(b) != "hello" {
			t.Fatalf("status %d, body %q, %v", resp.StatusCode, b, err)
		}
	})
	if f.stops != 1 {
		t.Fatalf("stopped %d times when the test ended, want 1", f.stops)
	}
}
