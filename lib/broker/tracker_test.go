package broker

import (
	"maps"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestTracker(t *testing.T) {
	rec := func(p int32, o int64) *kgo.Record { return &kgo.Record{Partition: p, Offset: o} }
	type step struct {
		start, done []*kgo.Record
	}
	tests := map[string]struct {
		steps []step
		want  map[int32]int64
	}{
		"nothing taken": {nil, map[int32]int64{}},
		"all settled": {[]step{{start: []*kgo.Record{rec(0, 0), rec(0, 1)}, done: []*kgo.Record{rec(0, 0), rec(0, 1)}}},
			map[int32]int64{0: 2}},
		"stops at the first open record": {[]step{{start: []*kgo.Record{rec(0, 4), rec(0, 5), rec(0, 6)}, done: []*kgo.Record{rec(0, 4), rec(0, 6)}}},
			map[int32]int64{0: 5}},
		"nothing settled commits the start": {[]step{{start: []*kgo.Record{rec(1, 7)}}},
			map[int32]int64{1: 7}},
		"partitions are independent": {[]step{{start: []*kgo.Record{rec(0, 0), rec(1, 0), rec(1, 1)}, done: []*kgo.Record{rec(1, 0), rec(1, 1)}}},
			map[int32]int64{0: 0, 1: 2}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tr := newTracker()
			for _, s := range tc.steps {
				for _, r := range s.start {
					tr.start(r)
				}
				for _, r := range s.done {
					tr.done(r)
				}
			}
			got := map[int32]int64{}
			for p, eo := range tr.uncommitted() {
				got[p] = eo.Offset
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("uncommitted = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTrackerSkipsWhatWasCommitted(t *testing.T) {
	tr := newTracker()
	r := &kgo.Record{Partition: 2, Offset: 9}
	tr.start(r)
	tr.done(r)
	tr.committed(tr.uncommitted())
	if got := tr.uncommitted(); len(got) != 0 {
		t.Fatalf("uncommitted after commit = %v, want none", got)
	}
}
