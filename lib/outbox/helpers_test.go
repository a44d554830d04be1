package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
)

// newEvent is an event whose data holds an integer a float64 cannot
// hold, so a store that turned the data into a number would show.
func newEvent(t *testing.T, id string) event.Event {
	t.Helper()
	return storetest.OrderEvent(t, id, map[string]any{"orderId": "o1", "amount": int64(9007199254740993)})
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// ids lists the ids of evs in order.
func ids(evs []event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID()
	}
	return out
}

// refusing wraps a sender and refuses the events whose ids it names, as a
// Broker that rejects one event would.
type refusing struct {
	next   sink.Sender
	refuse map[string]bool
	status int // the sink's answer to a refused event; 0: a bare error
}

var errRefused = errors.New("refused")

func (r refusing) Send(ctx context.Context, e event.Event) error {
	if r.refuse[e.ID()] {
		if r.status != 0 {
			return &sink.StatusError{Code: r.status, Body: "refused"}
		}
		return errRefused
	}
	return r.next.Send(ctx, e)
}

// asideRecorder collects what a relay sets aside.
type asideRecorder struct{ ids []string }

func (a *asideRecorder) setAside(_ context.Context, e event.Event, refusal *sink.StatusError) error {
	a.ids = append(a.ids, fmt.Sprintf("%s:%d", e.ID(), refusal.Code))
	return nil
}

// checkReceived asserts the sink got exactly the events wantIDs, in that
// order, each with the data it was stored with.
func checkReceived(t *testing.T, rec *storetest.EventRecorder, wantIDs []string) {
	t.Helper()
	got := rec.Events()
	if !slices.Equal(ids(got), wantIDs) {
		t.Fatalf("sink got %v, want %v", ids(got), wantIDs)
	}
	for _, g := range got {
		if want := newEvent(t, g.ID()); string(g.Data()) != string(want.Data()) {
			t.Fatalf("data of %s changed on the way: %s", g.ID(), g.Data())
		}
	}
}
