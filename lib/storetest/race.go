package storetest

import (
	"sync"
	"testing"
)

// AtOnce makes n calls at once (call(i) answers a status) and returns the
// statuses, in the order of i.
func AtOnce(n int, call func(i int) int) []int {
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i] = call(i) })
	}
	wg.Wait()
	return statuses
}

// Tally counts the statuses that are won; a status neither won nor lost
// fails t.
func Tally(t testing.TB, statuses []int, won, lost int) int {
	t.Helper()
	n := 0
	for _, s := range statuses {
		switch s {
		case won:
			n++
		case lost:
		default:
			t.Fatalf("statuses %v: %d is neither %d nor %d", statuses, s, won, lost)
		}
	}
	return n
}

// Concurrently runs step(w, i) for i in [0, each) in each of workers
// goroutines at once, and fails t with the first error a worker met (a
// worker stops at its first).
func Concurrently(t testing.TB, workers, each int, step func(w, i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := step(w, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// Repeat runs run(i) for i in [0, n): one after the other, or, with
// concurrent, all at once; it returns when every run has.
func Repeat(n int, concurrent bool, run func(i int)) {
	if !concurrent {
		for i := range n {
			run(i)
		}
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { run(i) })
	}
	wg.Wait()
}
