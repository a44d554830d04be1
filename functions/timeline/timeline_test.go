package timeline_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	timelinefn "github.com/knshop/knshop/functions/timeline"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/opsdb"
	"github.com/knshop/knshop/lib/storetest"
	"github.com/knshop/knshop/lib/timeline"
)

func sagaEvent(id, order string) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetType(string(events.OrderPlaced))
	e.SetSource("/knshop/orders")
	e.SetTime(time.Now())
	e.SetExtension(events.ExtPartitionKey, order)
	return e
}

func report(t *testing.T, data string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("r-" + fmt.Sprint(time.Now().UnixNano()))
	e.SetType(timeline.ReportType)
	e.SetSource("/knshop/reserve-stock")
	if err := e.SetData(event.ApplicationJSON, []byte(data)); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRecordsEventsAndReports: concurrent events are each answered only
// once stored; a redelivered event is kept once; a
// report's entries are recorded; a malformed report is a 400.
func TestRecordsEventsAndReports(t *testing.T) {
	db := storetest.MySQL(t, "operations")
	h := storetest.StartFunction(t, timelinefn.New(), db.Env(opsdb.Database))
	store, err := timeline.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	const orders, perOrder = 5, 4
	var wg sync.WaitGroup
	for o := range orders {
		for i := range perOrder {
			wg.Go(func() {
				e := sagaEvent(fmt.Sprintf("e-%d-%d", o, i), fmt.Sprintf("o%d", o))
				for range 2 { // every event delivered twice
					if code, _ := storetest.Deliver(t, h, e); code != http.StatusNoContent {
						t.Errorf("event %s: %d", e.ID(), code)
					}
				}
			})
		}
	}
	wg.Wait()
	for o := range orders {
		got, err := store.ForOrder(t.Context(), fmt.Sprintf("o%d", o))
		if err != nil || len(got) != perOrder {
			t.Fatalf("order o%d: %d entries, %v; want %d (each event once)", o, len(got), err, perOrder)
		}
	}

	at := time.Now().UTC().Format(time.RFC3339Nano)
	ok := fmt.Sprintf(`[{"id":"delivery-1","orderId":"o0","at":%q,"kind":"delivery","type":"ORDER_PLACED","eventId":"e-0-0","source":"/knshop/orders","detail":{"function":"reserve-stock","status":200}}]`, at)
	if code, _ := storetest.Deliver(t, h, report(t, ok)); code != http.StatusNoContent {
		t.Fatalf("report: %d", code)
	}
	got, err := store.ForOrder(t.Context(), "o0")
	if err != nil || len(got) != perOrder+1 || got[len(got)-1].Kind != timeline.KindDelivery || got[len(got)-1].Detail["attempt"] != 1 {
		t.Fatalf("after a report: %v, %v", got, err)
	}
	if code, _ := storetest.Deliver(t, h, report(t, `[{"id":"x","kind":"gossip","orderId":"o0"}]`)); code != http.StatusBadRequest {
		t.Fatalf("a malformed report: %d, want 400", code)
	}
}
