package batch_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/batch"
)

// Calls that arrive while a write runs go out together in the next write,
// and each caller gets the result of the write that carried its items; a
// caller that stops waiting still has its items written.
func TestCallsDuringAWriteShareTheNext(t *testing.T) {
	var mu sync.Mutex
	var writes [][]int
	release := make(chan struct{})
	first := make(chan struct{})
	fail := errors.New("the store is down")
	g := batch.New(func(_ context.Context, items []int) error {
		mu.Lock()
		writes = append(writes, items)
		n := len(writes)
		mu.Unlock()
		if n == 1 {
			close(first)
			<-release // the first write is slow: the others queue behind it
			return nil
		}
		return fail
	}, 0)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := g.Add(t.Context(), 1); err != nil {
			t.Errorf("the first call: %v", err)
		}
	})
	<-first
	errs := make(chan error, 3)
	for _, items := range [][]int{{2}, {3, 4}} {
		wg.Go(func() { errs <- g.Add(t.Context(), items...) })
	}
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	if err := g.Add(gone, 5); !errors.Is(err, context.Canceled) {
		t.Errorf("a caller that went away got %v", err)
	}
	// Wait until the three are queued, then let the first write end.
	for deadline := time.Now().Add(5 * time.Second); g.Queued() != 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want 3", g.Queued())
		}
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, fail) {
			t.Errorf("a queued call got %v, want its write's error", err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); g.Queued() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the queued calls were never written")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(writes) != 2 || len(writes[0]) != 1 || len(writes[1]) != 4 {
		t.Fatalf("writes %v, want [1] then the four queued items together", writes)
	}
}
