package timeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/storetest"
	"github.com/knshop/knshop/lib/timeline"
)

// An invalid entry is refused before it can fail the others' write; a
// caller that stops waiting still has its entries written. On the real
// store, everything the concurrent calls recorded is there, once.
func TestBatcherOnTheStore(t *testing.T) {
	store, err := timeline.Open(t.Context(), storetest.MySQL(t, "timeline"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b := timeline.NewBatcher(store.Record)
	if err := b.Record(t.Context(), timeline.Entry{ID: "x", Kind: timeline.KindDelivery}); err == nil {
		t.Fatal("an entry without an order was taken")
	}
	at := time.Now()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			e := delivery("o-batch", "e1", "ORDER_PLACED", "f", 204, at.Add(time.Duration(i)*time.Millisecond))
			if err := b.Record(t.Context(), e, e); err != nil { // the same entry twice is kept once
				t.Error(err)
			}
		})
	}
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	late := delivery("o-batch", "e2", "STOCK_RESERVED", "f", 204, at.Add(time.Second))
	_ = b.Record(gone, late) // the caller is gone; the entry is still written
	wg.Wait()
	for deadline := time.Now().Add(5 * time.Second); ; {
		got, err := store.ForOrder(t.Context(), "o-batch")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 21 {
			break
		}
		if time.Now().After(deadline) || len(got) > 21 {
			t.Fatalf("%d entries recorded, want 20 and the late one", len(got))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
