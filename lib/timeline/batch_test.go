package timeline_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/storetest"
	"github.com/knshop/knshop/lib/timeline"
)

// Calls that arrive while a write runs go out together in the next write,
// and each caller gets the result of the write that carried its entries.
func TestBatcherWritesWhatQueuedMeanwhileTogether(t *testing.T) {
	var mu sync.Mutex
	var writes [][]timeline.Entry
	release := make(chan struct{})
	first := make(chan struct{})
	fail := errors.New("the store is down")
	b := timeline.NewBatcher(func(_ context.Context, es ...timeline.Entry) error {
		mu.Lock()
		writes = append(writes, es)
		n := len(writes)
		mu.Unlock()
		if n == 1 {
			close(first)
			<-release // the first write is slow: the others queue behind it
			return nil
		}
		return fail
	})
	at := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := b.Record(t.Context(), delivery("o1", "e1", "ORDER_PLACED", "reserve-stock", 204, at)); err != nil {
			t.Errorf("the first call: %v", err)
		}
	})
	<-first
	errs := make(chan error, 3)
	for _, order := range []string{"o1", "o1", "o2"} {
		wg.Go(func() {
			errs <- b.Record(t.Context(), delivery(order, "e2", "STOCK_RESERVED", "confirm-order", 204, at))
		})
	}
	// Wait until the three are queued, then let the first write end.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("the calls did not queue")
		}
		if b.Queued() == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, fail) {
			t.Errorf("a queued call got %v, want its write's error", err)
		}
	}
	if len(writes) != 2 || len(writes[0]) != 1 || len(writes[1]) != 3 {
		t.Fatalf("writes of %v entries, want 1 then the 3 queued together", lens(writes))
	}
}

func lens(w [][]timeline.Entry) []int {
	out := make([]int, len(w))
	for i, es := range w {
		out[i] = len(es)
	}
	return out
}

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
