package outbox_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
)

// relayer is what both outboxes offer the relay.
type relayer interface {
	Relay(ctx context.Context, limit int) (int, error)
}

// backend is one outbox with its store, as the conformance suite drives it.
type backend interface {
	// write commits a change of the record key together with evs.
	write(t *testing.T, key string, evs ...event.Event)
	// publish is the fast path after write's commit, to the suite's sink.
	publish(t *testing.T, key string, evs ...event.Event)
	// relayTo is the outbox relaying to s, setting refused events aside with
	// aside when it is not nil.
	relayTo(s sink.Sender, aside outbox.SetAside) relayer
	// unsent counts the events still waiting in the outbox.
	unsent(t *testing.T) int
	// changed reports whether the change of key landed.
	changed(t *testing.T, key string) bool
}

// runOutboxSuite holds both outboxes to the same contract: exactly once
// after a crash, the fast path, a down sink, order, refusals.
// newBackend makes a fresh store whose fast path publishes to s.
func runOutboxSuite(t *testing.T, newBackend func(t *testing.T, s sink.Sender) backend) {
	type fixture struct {
		b   backend
		rec *storetest.EventRecorder
	}
	relay := func(t *testing.T, f fixture, limit, want int) {
		t.Helper()
		n, err := f.b.relayTo(sink.NewHTTP(f.rec.URL()), nil).Relay(t.Context(), limit)
		if err != nil {
			t.Fatalf("relay: %v", err)
		}
		if n != want {
			t.Fatalf("relay sent %d, want %d", n, want)
		}
	}
	picky := func(f fixture, refuse string, status int, aside outbox.SetAside) relayer {
		return f.b.relayTo(refusing{next: sink.NewHTTP(f.rec.URL()), refuse: map[string]bool{refuse: true}, status: status}, aside)
	}
	tests := map[string]struct {
		run     func(t *testing.T, f fixture)
		wantIDs []string
	}{
		"crash before publish: relay delivers exactly once": {
			run: func(t *testing.T, f fixture) {
				f.b.write(t, "k1", newEvent(t, "e1"))
				relay(t, f, 10, 1)
				relay(t, f, 10, 0)
				if n := f.b.unsent(t); n != 0 {
					t.Fatalf("%d unsent after the relay", n)
				}
			},
			wantIDs: []string{"e1"},
		},
		"publish takes the events out: relay has nothing left": {
			run: func(t *testing.T, f fixture) {
				e1, e2 := newEvent(t, "e1"), newEvent(t, "e2")
				f.b.write(t, "k1", e1, e2)
				f.b.publish(t, "k1", e1, e2)
				if n := f.b.unsent(t); n != 0 {
					t.Fatalf("%d unsent after publish", n)
				}
				relay(t, f, 10, 0)
			},
			wantIDs: []string{"e1", "e2"},
		},
		"sink down at publish: left for the relay": {
			run: func(t *testing.T, f fixture) {
				e := newEvent(t, "e1")
				f.b.write(t, "k1", e)
				f.rec.FailWith(http.StatusServiceUnavailable)
				f.b.publish(t, "k1", e)
				if n := f.b.unsent(t); n != 1 {
					t.Fatalf("%d unsent after a failed publish, want 1", n)
				}
				if _, err := f.b.relayTo(sink.NewHTTP(f.rec.URL()), nil).Relay(t.Context(), 10); err == nil {
					t.Fatal("relay to a down sink succeeded")
				}
				f.rec.FailWith(0)
				relay(t, f, 10, 1)
			},
			wantIDs: []string{"e1"},
		},
		"relay sends oldest first across records, within its limit": {
			run: func(t *testing.T, f fixture) {
				f.b.write(t, "k1", newEvent(t, "e1"))
				f.b.write(t, "k2", newEvent(t, "e2"))
				f.b.write(t, "k1", newEvent(t, "e3"), newEvent(t, "e4"))
				relay(t, f, 3, 3)
				relay(t, f, 10, 1)
			},
			wantIDs: []string{"e1", "e2", "e3", "e4"},
		},
		"relay stops at the first refused event": {
			run: func(t *testing.T, f fixture) {
				f.b.write(t, "k1", newEvent(t, "e1"))
				f.b.write(t, "k2", newEvent(t, "e2"))
				f.b.write(t, "k1", newEvent(t, "e3"))
				n, err := picky(f, "e2", 0, nil).Relay(t.Context(), 10)
				if !errors.Is(err, errRefused) || n != 1 {
					t.Fatalf("relay = %d, %v; want 1, refused", n, err)
				}
				relay(t, f, 10, 2)
			},
			wantIDs: []string{"e1", "e2", "e3"},
		},
		"an event refused for good is set aside and the relay goes on": {
			run: func(t *testing.T, f fixture) {
				f.b.write(t, "k1", newEvent(t, "e1"))
				f.b.write(t, "k2", newEvent(t, "e2"))
				f.b.write(t, "k1", newEvent(t, "e3"))
				var aside asideRecorder
				if n, err := picky(f, "e2", 400, aside.setAside).Relay(t.Context(), 10); err != nil || n != 2 {
					t.Fatalf("relay = %d, %v; want 2 sent", n, err)
				}
				if len(aside.ids) != 1 || aside.ids[0] != "e2:400" {
					t.Fatalf("set aside %v, want e2:400", aside.ids)
				}
				relay(t, f, 10, 0)
			},
			wantIDs: []string{"e1", "e3"},
		},
		"a transient refusal is not set aside": {
			run: func(t *testing.T, f fixture) {
				f.b.write(t, "k1", newEvent(t, "e1"), newEvent(t, "e2"))
				var aside asideRecorder
				if n, err := picky(f, "e1", 503, aside.setAside).Relay(t.Context(), 10); err == nil || n != 0 || len(aside.ids) != 0 {
					t.Fatalf("relay = %d, %v, set aside %v; want a stop at e1", n, err, aside.ids)
				}
				relay(t, f, 10, 2)
			},
			wantIDs: []string{"e1", "e2"},
		},
		"ids with dots and dollars survive": {
			run: func(t *testing.T, f fixture) {
				f.b.write(t, "k1", newEvent(t, "a.b$c"))
				relay(t, f, 10, 1)
				if n := f.b.unsent(t); n != 0 {
					t.Fatalf("%d unsent", n)
				}
			},
			wantIDs: []string{"a.b$c"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := storetest.NewEventRecorder(t)
			f := fixture{b: newBackend(t, sink.NewHTTP(rec.URL())), rec: rec}
			tc.run(t, f)
			checkReceived(t, f.rec, tc.wantIDs)
			if !f.b.changed(t, "k1") {
				t.Fatal("the change did not land with its events")
			}
		})
	}
}
