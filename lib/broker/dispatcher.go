package broker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DeliveryOrderAnnotation selects ordered or unordered delivery on a Trigger,
// as on the Knative Kafka Broker.
const DeliveryOrderAnnotation = "kafka.eventing.knative.dev/delivery.order"

const (
	// pollBatch bounds how many records one poll hands to a Trigger.
	pollBatch = 512
	// commitTimeout bounds the final commit of a Trigger that is shutting down.
	commitTimeout = 5 * time.Second
	// replyRetryWait is the pause between attempts to publish a reply.
	replyRetryWait = time.Second
)

// consumer is the part of a consumer-group client a dispatcher uses.
type consumer interface {
	PollRecords(ctx context.Context, maxPollRecords int) kgo.Fetches
	CommitRecords(ctx context.Context, rs ...*kgo.Record) error
	AllowRebalance()
}

// dispatcher feeds one Trigger from its consumer group.
type dispatcher struct {
	topic     string
	filter    triggerFilter
	target    target
	ordered   bool
	inFlight  chan struct{}
	consumer  consumer
	replies   producer
	deliverer *deliverer
	logger    *slog.Logger
}

// run polls, handles and commits until ctx ends or the client closes.
func (d *dispatcher) run(ctx context.Context) {
	for {
		fetches := d.consumer.PollRecords(ctx, pollBatch)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			d.consumer.AllowRebalance()
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			d.logger.LogAttrs(ctx, slog.LevelWarn, "fetch failed",
				slog.String("topic", topic), slog.Int("partition", int(partition)), slog.Any("error", err))
		})
		var wg sync.WaitGroup
		var lanes []*lane
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			l := &lane{records: p.Records, done: make([]bool, len(p.Records))}
			lanes = append(lanes, l)
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.handleLane(ctx, l)
			}()
		})
		wg.Wait()
		d.commit(ctx, lanes)
		d.consumer.AllowRebalance()
	}
}

// lane is the records of one partition in one poll, and which are handled.
type lane struct {
	records []*kgo.Record
	done    []bool
}

// committable is the last record of the handled prefix, or nil.
func (l *lane) committable() *kgo.Record {
	var last *kgo.Record
	for i, ok := range l.done {
		if !ok {
			break
		}
		last = l.records[i]
	}
	return last
}

func (d *dispatcher) handleLane(ctx context.Context, l *lane) {
	if d.ordered {
		for i, rec := range l.records {
			if d.handle(ctx, rec) != nil {
				return
			}
			l.done[i] = true
		}
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, rec := range l.records {
		select {
		case d.inFlight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-d.inFlight }()
			l.done[i] = d.handle(ctx, rec) == nil
		}()
	}
}

// commit commits, per partition, every record up to the first unhandled one.
// It runs even while shutting down, so finished work is not redone.
func (d *dispatcher) commit(ctx context.Context, lanes []*lane) {
	var recs []*kgo.Record
	for _, l := range lanes {
		if rec := l.committable(); rec != nil {
			recs = append(recs, rec)
		}
	}
	if len(recs) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := d.consumer.CommitRecords(cctx, recs...); err != nil {
		d.logger.LogAttrs(ctx, slog.LevelError, "offset commit failed", slog.Any("error", err))
	}
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
