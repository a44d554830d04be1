package broker

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// TestSlowTriggerDetachesWithoutLossOrRepeat holds one Trigger's subscriber
// while events pile up: the Trigger falls past its backlog and reads on its
// own, the other Trigger of the same Broker gets everything meanwhile, and
// once released the slow one gets each of its events exactly once.
func TestSlowTriggerDetachesWithoutLossOrRepeat(t *testing.T) {
	seeds := newKafka(t)
	release := make(chan struct{})
	subs := newSubscribers(t, func(name string, _ event.Event, _ http.ResponseWriter, r *http.Request) {
		if name != "unordered" {
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	cfg := onlyTriggers(loadTestConfig(t, "flow.yaml"), "ordered", "unordered")
	s, base := startServer(t, cfg, seeds, subs.resolver(), WithMaxInFlight(1), WithMaxBacklog(8))
	const n = 30
	var slow, fast []string
	for i := range n {
		slow = append(slow, fmt.Sprintf("slow-%02d", i))
		fast = append(fast, fmt.Sprintf("fast-%02d", i))
		for _, e := range []event.Event{
			newEvent(t, slow[i], "MIXED", "/test", map[string]string{"partitionkey": fmt.Sprint(i)}),
			newEvent(t, fast[i], "SEQUENCE", "/test", map[string]string{"partitionkey": fmt.Sprint(i)}),
		} {
			if got := send(t, base, e, false); got != http.StatusAccepted {
				t.Fatalf("send: %d", got)
			}
		}
	}
	waitFor(t, 10*time.Second, "the other trigger gets every event", func() bool { return len(subs.events("ordered")) == n })
	if got := len(subs.events("unordered")); got > 1 {
		t.Fatalf("held trigger took %d deliveries while held, want at most 1", got)
	}
	if !detached(s, GroupName("knshop", "unordered")) {
		t.Fatal("the held trigger did not detach from the shared fetch")
	}
	if detached(s, GroupName("knshop", "ordered")) {
		t.Fatal("the trigger that kept up detached")
	}
	close(release)
	waitSettled(t, adminClient(t, seeds), GroupName("knshop", "ordered"), GroupName("knshop", "unordered"))
	got := subs.ids("unordered")
	slices.Sort(got)
	if !slices.Equal(got, slow) {
		t.Fatalf("slow trigger got %d deliveries %v, want each of its %d events once", len(got), got, n)
	}
	if got := subs.ids("ordered"); len(got) != n {
		t.Fatalf("fast trigger got %d deliveries, want %d", len(got), n)
	}
}

// TestTriggersResumeFromTheirOwnOffsets stops a broker while one Trigger has
// settled everything and the other holds its first event: after a restart
// the second gets its events again and the first gets nothing again,
// although both share one fetch that starts at the earlier position.
func TestTriggersResumeFromTheirOwnOffsets(t *testing.T) {
	seeds := newKafka(t)
	admin := adminClient(t, seeds)
	cfg := onlyTriggers(loadTestConfig(t, "flow.yaml"), "ordered", "unordered")
	first := newSubscribers(t, func(name string, _ event.Event, _ http.ResponseWriter, r *http.Request) {
		if name == "unordered" {
			<-r.Context().Done()
		}
	})
	s1, base := startServer(t, cfg, seeds, first.resolver(), WithMaxInFlight(1))
	const n = 5
	for i := range n {
		for _, e := range []event.Event{
			newEvent(t, fmt.Sprintf("held-%d", i), "MIXED", "/test", nil),
			newEvent(t, fmt.Sprintf("done-%d", i), "SEQUENCE", "/test", nil),
		} {
			if got := send(t, base, e, false); got != http.StatusAccepted {
				t.Fatalf("send: %d", got)
			}
		}
	}
	waitSettled(t, admin, GroupName("knshop", "ordered"))
	waitFor(t, 10*time.Second, "the held trigger is called", func() bool { return len(first.events("unordered")) > 0 })
	if err := s1.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	second := newSubscribers(t, accept)
	startServer(t, cfg, seeds, second.resolver())
	waitSettled(t, admin, GroupName("knshop", "ordered"), GroupName("knshop", "unordered"))
	if got := second.ids("ordered"); len(got) != 0 {
		t.Fatalf("settled trigger got %v again after the restart", got)
	}
	got := second.ids("unordered")
	slices.Sort(got)
	if want := []string{"held-0", "held-1", "held-2", "held-3", "held-4"}; !slices.Equal(got, want) {
		t.Fatalf("held trigger got %v after the restart, want %v", got, want)
	}
}

// detached reports whether group's subscription reads on a client of its own.
func detached(s *Server, group string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.feeds {
		for _, sub := range f.subs {
			if sub.group == group {
				sub.mu.Lock()
				defer sub.mu.Unlock()
				return sub.own != nil
			}
		}
	}
	return false
}
