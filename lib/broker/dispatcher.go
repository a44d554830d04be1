package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeliveryOrderAnnotation selects ordered or unordered delivery on a Trigger,
// as on the Knative Kafka Broker.
const DeliveryOrderAnnotation = "kafka.eventing.knative.dev/delivery.order"

const (
	// pollBatch bounds how many records one poll hands to a Trigger.
	pollBatch = 512
	// commitTimeout bounds one offset commit, the last one included.
	commitTimeout = 5 * time.Second
	// commitInterval is how often settled offsets are committed.
	commitInterval = 100 * time.Millisecond
	// replyRetryWait is the pause between attempts to publish a reply.
	replyRetryWait = time.Second
)

// source is where a dispatcher takes its Trigger's records and commits its
// group's offsets: a subscription to its Broker's shared fetch.
type source interface {
	// poll returns the next records, in offset order within a partition; ok
	// is false once ctx ends or the source is closed.
	poll(ctx context.Context) (recs []*kgo.Record, ok bool)
	// commit stores, per partition, the offset to resume from.
	commit(ctx context.Context, marks map[int32]kgo.EpochOffset) error
}

// dispatcher feeds one Trigger from its consumer group.
type dispatcher struct {
	topic     string
	group     string
	filter    triggerFilter
	target    target
	ordered   bool
	inFlight  chan struct{}
	source    source
	replies   producer
	deliverer *deliverer
	logger    *slog.Logger
}

// run polls and hands records to workers until ctx ends or the client
// closes, committing settled offsets as it goes and once more at the end.
func (d *dispatcher) run(ctx context.Context) {
	tr := newTracker()
	var workers sync.WaitGroup
	lanes := map[int32]chan *kgo.Record{}
	commitDone := make(chan struct{})
	go func() {
		defer close(commitDone)
		d.commitLoop(ctx, tr)
	}()
	defer func() {
		for _, l := range lanes {
			close(l)
		}
		workers.Wait()
		<-commitDone
		d.commit(ctx, tr)
	}()
	for {
		recs, ok := d.source.poll(ctx)
		if !ok {
			return
		}
		for _, rec := range recs {
			tr.start(rec)
			if !d.filter.mayPass(rec) {
				tr.done(rec) // another type: nothing to deliver
				continue
			}
			var ok bool
			if d.ordered {
				ok = d.toLane(ctx, lanes, &workers, tr, rec)
			} else {
				ok = d.toWorker(ctx, &workers, tr, rec)
			}
			if !ok {
				return
			}
		}
	}
}

// toLane queues rec behind the earlier records of its partition.
func (d *dispatcher) toLane(ctx context.Context, lanes map[int32]chan *kgo.Record, workers *sync.WaitGroup, tr *tracker, rec *kgo.Record) bool {
	l, ok := lanes[rec.Partition]
	if !ok {
		l = make(chan *kgo.Record, pollBatch)
		lanes[rec.Partition] = l
		workers.Add(1)
		go func() {
			defer workers.Done()
			for r := range l {
				if ctx.Err() != nil {
					continue // drain without delivering; uncommitted records come again
				}
				if d.handle(ctx, r) == nil {
					tr.done(r)
				}
			}
		}()
	}
	select {
	case l <- rec:
		return true
	case <-ctx.Done():
		return false
	}
}

// toWorker delivers rec on its own goroutine once an in-flight slot is free.
func (d *dispatcher) toWorker(ctx context.Context, workers *sync.WaitGroup, tr *tracker, rec *kgo.Record) bool {
	select {
	case d.inFlight <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	workers.Add(1)
	go func() {
		defer workers.Done()
		defer func() { <-d.inFlight }()
		if d.handle(ctx, rec) == nil {
			tr.done(rec)
		}
	}()
	return true
}

// commitLoop commits settled offsets every commitInterval until ctx ends.
func (d *dispatcher) commitLoop(ctx context.Context, tr *tracker) {
	t := time.NewTicker(commitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.commit(ctx, tr)
		}
	}
}

// commit commits, per partition, up to the first record not yet settled. It
// runs even while shutting down, so finished work is not redone.
func (d *dispatcher) commit(ctx context.Context, tr *tracker) {
	marks := tr.uncommitted()
	if len(marks) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := d.source.commit(cctx, marks); err != nil {
		d.logger.LogAttrs(ctx, slog.LevelError, "offset commit failed", slog.Any("error", err))
		return
	}
	tr.committed(marks)
}

func commitError(resp *kmsg.OffsetCommitResponse) error {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("partition %d: %w", p.Partition, err)
			}
		}
	}
	return nil
}

// handle decodes, filters, delivers and publishes the reply of one record. An
// error means the record is not settled and must not be committed.
func (d *dispatcher) handle(ctx context.Context, rec *kgo.Record) error {
	e, err := decodeRecord(rec)
	if err != nil {
		d.logger.LogAttrs(ctx, slog.LevelWarn, "skipping record that is not a CloudEvent",
			slog.Int("partition", int(rec.Partition)), slog.Int64("offset", rec.Offset), slog.Any("error", err))
		return nil
	}
	if !d.filter.Pass(ctx, e) {
		return nil
	}
	reply, err := d.deliverer.deliver(ctx, e, d.target)
	if err != nil {
		return err
	}
	if reply == nil {
		return nil
	}
	return d.publishReply(ctx, *reply)
}

// publishReply writes a reply into the Broker topic, retrying until it is
// stored or ctx ends, since the record it answers is committed only after.
func (d *dispatcher) publishReply(ctx context.Context, reply event.Event) error {
	for {
		// A record is not reused once handed to the client, so each try encodes anew.
		rec, err := encodeRecord(d.topic, reply)
		if err != nil {
			d.logger.LogAttrs(ctx, slog.LevelWarn, "dropping reply that cannot be encoded",
				slog.String("event_id", reply.ID()), slog.Any("error", err))
			return nil
		}
		err = d.replies.ProduceSync(ctx, rec).FirstErr()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		d.logger.LogAttrs(ctx, slog.LevelWarn, "reply publish failed", slog.String("event_id", reply.ID()), slog.Any("error", err))
		if err := sleep(ctx, replyRetryWait); err != nil {
			return err
		}
	}
}
