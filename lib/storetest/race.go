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
