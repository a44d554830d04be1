package timeline_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/storetest"
	"github.com/knshop/knshop/lib/timeline"
)

func sagaEvent(id, typ, order string, at time.Time) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource("/knshop/test")
	e.SetTime(at)
	e.SetExtension(events.ExtPartitionKey, order)
	return e
}

func delivery(order, eventID, typ, function string, status int, at time.Time) timeline.Entry {
	return timeline.Entry{ID: timeline.NewID(timeline.KindDelivery), OrderID: order, At: at, Kind: timeline.KindDelivery,
		Type: typ, EventID: eventID, Source: "/knshop/test", Detail: map[string]any{"function": function, "status": status}}
}

func TestTimelineRecordsOnceReadsInOrderAndNumbersAttempts(t *testing.T) {
	ctx := context.Background()
	store, err := timeline.Open(ctx, storetest.MySQL(t, "timeline"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	placed, ok := timeline.EventEntry(sagaEvent("e1", "ORDER_PLACED", "o1", t0), t0)
	if !ok {
		t.Fatal("no entry for an event with a partition key")
	}
	reserved, _ := timeline.EventEntry(sagaEvent("e2", "STOCK_RESERVED", "o1", t0.Add(2*time.Second)), t0)
	other, _ := timeline.EventEntry(sagaEvent("e3", "ORDER_PLACED", "o2", t0), t0)
	// Duplicates, out of order: the same event recorded twice, a
	// retry before the first attempt is read.
	entries := []timeline.Entry{
		reserved, placed, placed, other,
		delivery("o1", "e1", "ORDER_PLACED", "reserve-stock", 500, t0.Add(100*time.Millisecond)),
		delivery("o1", "e1", "ORDER_PLACED", "reserve-stock", 200, t0.Add(500*time.Millisecond)),
		delivery("o1", "e2", "STOCK_RESERVED", "charge-payment", 204, t0.Add(3*time.Second)),
	}
	if err := store.Record(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	if err := store.Record(ctx, placed); err != nil {
		t.Fatal(err)
	}
	got, err := store.ForOrder(ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range got {
		lines = append(lines, fmt.Sprintf("%s %s %v %v", e.Kind, e.Type, e.Detail["function"], e.Detail["attempt"]))
	}
	want := []string{
		"event ORDER_PLACED <nil> <nil>",
		"delivery ORDER_PLACED reserve-stock 1",
		"delivery ORDER_PLACED reserve-stock 2",
		"event STOCK_RESERVED <nil> <nil>",
		"delivery STOCK_RESERVED charge-payment 1",
	}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Fatalf("timeline\n%v\nwant\n%v", lines, want)
	}
	if _, err := store.ForOrder(ctx, "unknown"); !errors.Is(err, timeline.ErrNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
	// Purge is bounded, and goes by when entries were written.
	for i := range 3 {
		if err := store.Record(ctx, delivery(fmt.Sprintf("old-%d", i), "e", "ORDER_PLACED", "f", 204, t0)); err != nil {
			t.Fatal(err)
		}
	}
	cutoff := time.Now().Add(time.Hour) // every entry so far
	n, err := store.Purge(ctx, cutoff, 2)
	if err != nil || n != 2 {
		t.Fatalf("purge = %d, %v; want 2 (the limit)", n, err)
	}
	n, err = store.Purge(ctx, time.Now().Add(-time.Hour), 100)
	if err != nil || n != 0 {
		t.Fatalf("purge before any write = %d, %v; want 0", n, err)
	}
	n, err = store.Purge(ctx, cutoff, 100)
	if err != nil || n != 7 {
		t.Fatalf("second purge = %d, %v; want the 7 entries left", n, err)
	}
	if _, err := store.ForOrder(ctx, "o1"); !errors.Is(err, timeline.ErrNotFound) {
		t.Fatalf("a purged order: %v", err)
	}
}

func TestReportsAreChecked(t *testing.T) {
	for name, data := range map[string]string{
		"not an array": `{"id":"x"}`,
		"unknown kind": `[{"id":"x","orderId":"o","kind":"gossip"}]`,
		"event kind":   `[{"id":"x","orderId":"o","kind":"event","at":"2026-12-06T10:00:00Z"}]`,
		"no order":     `[{"id":"x","kind":"delivery","at":"2026-12-06T10:00:00Z"}]`,
		"no id":        `[{"orderId":"o","kind":"delivery","at":"2026-12-06T10:00:00Z"}]`,
		"no time":      `[{"id":"x","orderId":"o","kind":"delivery"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			e := event.New()
			e.SetID("r")
			e.SetType(timeline.ReportType)
			e.SetSource("/t")
			if err := e.SetData(event.ApplicationJSON, []byte(data)); err != nil {
				t.Fatal(err)
			}
			if _, err := timeline.Entries(e); err == nil {
				t.Fatalf("report %s accepted", data)
			}
		})
	}
}
