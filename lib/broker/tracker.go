package broker

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// tracker knows, per partition, which taken records are not yet settled, so
// that a commit never passes a record whose delivery is still open.
type tracker struct {
	mu    sync.Mutex
	parts map[int32]*partition
}

type partition struct {
	pending   map[int64]struct{} // offsets taken and not settled
	next      int64              // the offset after the last record taken
	epoch     int32
	committed int64
}

func newTracker() *tracker {
	return &tracker{parts: map[int32]*partition{}}
}

// start records that rec was taken for handling.
func (t *tracker) start(rec *kgo.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.parts[rec.Partition]
	if !ok {
		p = &partition{pending: map[int64]struct{}{}, committed: -1}
		t.parts[rec.Partition] = p
	}
	p.pending[rec.Offset] = struct{}{}
	p.next = rec.Offset + 1
	p.epoch = rec.LeaderEpoch
}

// done records that rec is settled.
func (t *tracker) done(rec *kgo.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.parts[rec.Partition]; ok {
		delete(p.pending, rec.Offset)
	}
}

// uncommitted is, per partition, the offset to commit (the lowest unsettled
// offset, or the next one when all are settled) where it moved since the
// last commit.
func (t *tracker) uncommitted() map[int32]kgo.EpochOffset {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[int32]kgo.EpochOffset{}
	for n, p := range t.parts {
		mark := p.next
		for o := range p.pending {
			mark = min(mark, o)
		}
		if mark > p.committed {
			out[n] = kgo.EpochOffset{Epoch: p.epoch, Offset: mark}
		}
	}
	return out
}

// committed records that marks were committed.
func (t *tracker) committed(marks map[int32]kgo.EpochOffset) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for n, m := range marks {
		if p, ok := t.parts[n]; ok && m.Offset > p.committed {
			p.committed = m.Offset
		}
	}
}
