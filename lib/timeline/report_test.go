package timeline_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/storetest"
	"github.com/knshop/knshop/lib/timeline"
)

// A Reporter sends every entry it queued once, in reports of at most
// MaxReport entries, and what is still queued when it closes; beyond its
// queue's bound it drops, and says so in its count, not by blocking.
func TestReporterSendsEverythingQueuedOnce(t *testing.T) {
	rec := storetest.NewEventRecorder(t)
	r := timeline.NewReporter(rec.URL(), "f", storetest.Discard)
	entry := func(i int) timeline.Entry {
		return timeline.Entry{ID: fmt.Sprintf("r-%05d", i), OrderID: "o1", At: time.Now(), Kind: timeline.KindReconcile,
			Type: "test", Source: "/knshop/f", Detail: map[string]any{}}
	}
	var want []string
	for i := range 250 { // across reports, some sent before Close
		r.Report(entry(i))
		want = append(want, entry(i).ID)
	}
	burst := make([]timeline.Entry, 5000) // more than a queue holds
	for i := range burst {
		burst[i] = entry(1000 + i)
	}
	r.Report(burst...)
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range rec.Events() {
		entries, err := timeline.Entries(e)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 || len(entries) > timeline.MaxReport {
			t.Fatalf("a report of %d entries", len(entries))
		}
		for _, en := range entries {
			got = append(got, en.ID)
		}
	}
	slices.Sort(got)
	if len(got) != len(slices.Compact(slices.Clone(got))) {
		t.Fatal("an entry was sent twice")
	}
	// Every one of the first 250 arrived; of the burst, as many as the
	// queue had room for (at least what was left after the 250), no more.
	for _, id := range want {
		if _, found := slices.BinarySearch(got, id); !found {
			t.Fatalf("entry %s never sent", id)
		}
	}
	if fromBurst := len(got) - len(want); fromBurst < 4096-250 || fromBurst > 4096 {
		t.Fatalf("%d entries of the burst sent, want what a queue of 4096 held", fromBurst)
	}
}

// A Reporter holds what waits to be sent, not a buffer for the worst case:
// every function of a process has one, and the garbage collector scans
// what they hold at every cycle.
func TestReporterStartsSmall(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := timeline.NewReporter("http://127.0.0.1:1", "f", storetest.Discard)
	runtime.ReadMemStats(&after)
	defer r.Close(context.Background())
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Fatalf("a new Reporter took %d bytes", grew)
	}
}
