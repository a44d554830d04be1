package fn_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/events/eventstest"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/storetest"
)

// box is a store a reaction opens: it records what it was handed and
// whether the runtime pinged and closed it.
type box struct {
	cfg    string
	got    []string
	down   bool
	closed bool
}

func (b *box) Ping(context.Context) error {
	if b.down {
		return errors.New("down")
	}
	return nil
}
func (b *box) Close() error { b.closed = true; return nil }

func openBox(_ context.Context, cfg map[string]string) (*box, error) {
	if cfg["BOX"] == "" {
		return nil, errors.New("BOX is not set")
	}
	return &box{cfg: cfg["BOX"]}, nil
}

func deleted(t *testing.T, user string) event.Event {
	return eventstest.Build(t, events.UserDeletedData{UserID: user, DeletedAt: time.Now().UTC()})
}

// TestOnDecodesAndKeepsTheStore: Start opens the store from the
// configuration and hands it to the runtime (pinged for readiness, closed
// at stop); Handle hands each event's decoded data to the handler with the
// store; an event that does not decode never reaches the handler and is
// permanent (400).
func TestOnDecodesAndKeepsTheStore(t *testing.T) {
	r := fn.On("boxer", openBox, func(_ context.Context, b *box, d events.UserDeletedData) (*event.Event, error) {
		b.got = append(b.got, d.UserID)
		return nil, nil
	})
	if err := r.Start(t.Context(), map[string]string{}); err == nil {
		t.Fatal("Start without BOX succeeded")
	}
	inst, err := fn.NewInstance("boxer", r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(t.Context(), map[string]string{"BOX": "b1"}); err != nil {
		t.Fatal(err)
	}
	b := r.Opened()
	if b.cfg != "b1" {
		t.Fatalf("opened %+v, want the box BOX names", b)
	}
	user := ids.New()
	if code, _ := storetest.Deliver(t, inst, deleted(t, user)); code != http.StatusNoContent {
		t.Fatalf("a USER_DELETED: %d", code)
	}
	other := eventstest.Build(t, events.OrderCompletedData{OrderID: ids.New(), CustomerID: user, CompletedAt: time.Now().UTC()})
	if code, _ := storetest.Deliver(t, inst, other); code != http.StatusBadRequest {
		t.Fatalf("an event of another type: %d, want 400", code)
	}
	if len(b.got) != 1 || b.got[0] != user {
		t.Fatalf("handled %v, want the one USER_DELETED", b.got)
	}
	b.down = true
	if ok, _ := inst.Ready(t.Context()); ok {
		t.Fatal("ready while the store does not answer")
	}
	if err := inst.Stop(t.Context()); err != nil || !b.closed {
		t.Fatalf("stop = %v, store closed %t", err, b.closed)
	}
}

// TestOnEventHandsTheEventAsItCame: OnEvent leaves reading the event to
// the handler, whose reply and errors are the function's; Swap puts
// another store in place of the opened one.
func TestOnEventHandsTheEventAsItCame(t *testing.T) {
	boom := errors.New("boom")
	r := fn.OnEvent(openBox, func(_ context.Context, b *box, e event.Event) (*event.Event, error) {
		b.got = append(b.got, e.Type())
		if b.cfg == "failing" {
			return nil, boom
		}
		reply := deleted(t, e.ID())
		return &reply, nil
	})
	h := storetest.StartFunction(t, r, map[string]string{"BOX": "b1"})
	if code, reply := storetest.Deliver(t, h, deleted(t, ids.New())); code != http.StatusOK || reply == nil {
		t.Fatalf("status %d, reply %v; want the handler's reply", code, reply)
	}
	failing := &box{cfg: "failing"}
	r.Swap(func(*box) *box { return failing })
	if code, _ := storetest.Deliver(t, h, deleted(t, ids.New())); code != http.StatusInternalServerError {
		t.Fatalf("a failing handler: %d, want 500 (retried)", code)
	}
	if len(failing.got) != 1 || failing.got[0] != string(events.UserDeleted) {
		t.Fatalf("the swapped store handled %v", failing.got)
	}
}

// TestStartFrom: the configuration is read once, and a configuration that
// does not read stops the start.
func TestStartFrom(t *testing.T) {
	bad := errors.New("bad")
	read := func(cfg map[string]string) (string, error) {
		if cfg["X"] == "" {
			return "", bad
		}
		return cfg["X"], nil
	}
	var started []string
	start := func(_ context.Context, c string) error { started = append(started, c); return nil }
	if err := fn.StartFrom(t.Context(), map[string]string{}, read, start); !errors.Is(err, bad) || len(started) != 0 {
		t.Fatalf("StartFrom without X = %v, started %v", err, started)
	}
	if err := fn.StartFrom(t.Context(), map[string]string{"X": "x"}, read, start); err != nil || len(started) != 1 || started[0] != "x" {
		t.Fatalf("StartFrom = %v, started %v", err, started)
	}
}
