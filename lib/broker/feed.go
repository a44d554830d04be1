package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultMaxBacklog is how many fetched records a Trigger may leave untaken
// before it stops sharing its Broker's fetch and reads the topic on its own.
const DefaultMaxBacklog = 8192

// stallLimit is how long the feed waits for a Trigger over its backlog to
// come back under it before detaching it.
const stallLimit = time.Second

// metadataWait bounds how long a feed waits for its topic to be known.
const metadataWait = 10 * time.Second

// feed is the one fetch of a Broker topic that all its Triggers share: each
// record is read from Kafka once, whatever the number of Triggers, and handed
// to every Trigger's subscription. Each Trigger still has its own consumer
// group, where it commits its own offsets as a simple (memberless) consumer,
// so Triggers settle independently. The feed fetches no further while a
// Trigger has more than maxBacklog records untaken; one that stays so for
// stallLimit is detached: it drops its backlog and goes on with a client of
// its own from the first record it has not taken, so a Trigger whose
// subscriber is down holds the others back for stallLimit at most. It shares
// again only after a restart.
type feed struct {
	topic   string
	client  *kgo.Client
	pollMax int // records a poll takes at the most: the backlog allowed
	subs    []*subscription
	logger  *slog.Logger
}

// subscription is one Trigger's view of a feed; it is the dispatcher's source.
type subscription struct {
	topic   string
	topicID [16]byte // commits name the topic by ID from OffsetCommit v10
	group   string
	feed    *kgo.Client // commits go through the feed's client, detached or not
	newOwn  func(at map[int32]int64) (*kgo.Client, error)
	logger  *slog.Logger

	maxBacklog int
	wake       chan struct{} // the backlog grew, or the subscription closed
	took       chan struct{} // the dispatcher took records

	mu      sync.Mutex
	backlog []*kgo.Record
	next    map[int32]int64 // per partition, the first offset not yet taken
	own     *kgo.Client     // once detached
	closed  bool
}

// newFeed reads where each group stands on topic and starts one client at the
// earliest of those positions, partition by partition.
func newFeed(ctx context.Context, o options, topic string, groups []string) (*feed, error) {
	admin, err := kgo.NewClient(kgo.SeedBrokers(o.seeds...))
	if err != nil {
		return nil, fmt.Errorf("feed %s: %w", topic, err)
	}
	defer admin.Close()
	topicID, parts, err := partitionsOf(ctx, admin, topic)
	if err != nil {
		return nil, err
	}
	f := &feed{topic: topic, pollMax: o.maxBacklog, logger: o.logger}
	start := map[int32]int64{}
	for i, g := range groups {
		at, err := committed(ctx, admin, g, topic)
		if err != nil {
			return nil, err
		}
		next := map[int32]int64{}
		for _, p := range parts {
			next[p] = max(at[p], 0) // no commit yet: from the start, as a new group is reset
			if i == 0 || next[p] < start[p] {
				start[p] = next[p]
			}
		}
		f.subs = append(f.subs, &subscription{
			topic:      topic,
			topicID:    topicID,
			group:      g,
			logger:     o.logger.With("group", g),
			maxBacklog: o.maxBacklog,
			wake:       make(chan struct{}, 1),
			took:       make(chan struct{}, 1),
			next:       next,
			newOwn:     func(at map[int32]int64) (*kgo.Client, error) { return partitionClient(o.seeds, o.fetchWait, topic, at) },
		})
	}
	if f.client, err = partitionClient(o.seeds, o.fetchWait, topic, start); err != nil {
		return nil, err
	}
	for _, s := range f.subs {
		s.feed = f.client
	}
	return f, nil
}

// partitionClient reads topic's partitions from the given offsets, in no group.
func partitionClient(seeds []string, fetchWait time.Duration, topic string, at map[int32]int64) (*kgo.Client, error) {
	offsets := map[int32]kgo.Offset{}
	for p, o := range at {
		offsets[p] = kgo.NewOffset().At(o)
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(fetchWait),
	)
	if err != nil {
		return nil, fmt.Errorf("consumer of %s: %w", topic, err)
	}
	return cl, nil
}

// run fetches and fans out until ctx ends or the client closes; then every
// subscription is closed so that its dispatcher returns.
func (f *feed) run(ctx context.Context) {
	defer func() {
		for _, s := range f.subs {
			s.close()
		}
	}()
	for {
		fetches := f.client.PollRecords(ctx, f.pollMax)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			return
		}
		logFetchErrors(ctx, f.logger, fetches)
		recs := fetches.Records()
		for _, s := range f.subs {
			s.offer(recs)
		}
		f.waitForSlow(ctx)
	}
}

// waitForSlow waits while a subscription holds more than its backlog, and
// detaches one that still does after stallLimit.
func (f *feed) waitForSlow(ctx context.Context) {
	var timer *time.Timer
	for _, s := range f.subs {
		for s.over() {
			if timer == nil {
				timer = time.NewTimer(stallLimit)
				defer timer.Stop()
			}
			select {
			case <-s.took:
			case <-timer.C:
				s.detach()
				timer.Reset(stallLimit)
			case <-ctx.Done():
				return
			}
		}
	}
}

// close closes the clients of the feed and of its detached subscriptions.
func (f *feed) close() {
	for _, s := range f.subs {
		s.mu.Lock()
		if s.own != nil {
			s.own.Close()
		}
		s.mu.Unlock()
	}
	f.client.Close()
}

func logFetchErrors(ctx context.Context, logger *slog.Logger, fetches kgo.Fetches) {
	fetches.EachError(func(topic string, partition int32, err error) {
		logger.LogAttrs(ctx, slog.LevelWarn, "fetch failed",
			slog.String("topic", topic), slog.Int("partition", int(partition)), slog.Any("error", err))
	})
}

// offer queues the records this subscription has not taken before.
func (s *subscription) offer(recs []*kgo.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.own != nil || s.closed {
		return
	}
	queued := false
	for _, r := range recs {
		if r.Offset < s.next[r.Partition] {
			continue // this group committed past it
		}
		s.backlog = append(s.backlog, r)
		queued = true
	}
	if queued {
		signal(s.wake)
	}
}

// over reports whether the subscription shares the fetch and holds more
// than its backlog.
func (s *subscription) over() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.own == nil && !s.closed && len(s.backlog) > s.maxBacklog
}

// detach drops the backlog and opens a client of the subscription's own at
// the first offset of each partition not yet taken.
func (s *subscription) detach() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.own != nil {
		return
	}
	own, err := s.newOwn(s.next)
	if err != nil {
		// Without a client of its own it keeps its backlog and shares on.
		s.logger.LogAttrs(context.Background(), slog.LevelError, "cannot detach a slow trigger", slog.Any("error", err))
		return
	}
	s.backlog = nil
	s.own = own
	signal(s.wake)
	s.logger.LogAttrs(context.Background(), slog.LevelWarn, "trigger stayed behind its broker's shared fetch; it now reads the topic on its own",
		slog.Int("backlog", s.maxBacklog), slog.Duration("waited", stallLimit))
}

// signal wakes whoever waits on c, once, without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (s *subscription) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	signal(s.wake)
}

// poll returns up to pollBatch records in offset order per partition; ok is
// false once ctx ends or the subscription is closed.
func (s *subscription) poll(ctx context.Context) (recs []*kgo.Record, ok bool) {
	for {
		s.mu.Lock()
		own, closed := s.own, s.closed
		if own == nil && len(s.backlog) > 0 {
			n := min(len(s.backlog), pollBatch)
			recs = s.backlog[:n:n]
			s.backlog = s.backlog[n:]
			for _, r := range recs {
				s.next[r.Partition] = r.Offset + 1
			}
			signal(s.took)
		}
		s.mu.Unlock()
		switch {
		case ctx.Err() != nil:
			return nil, false
		case recs != nil:
			return recs, true
		case own != nil:
			fetches := own.PollRecords(ctx, pollBatch)
			if fetches.IsClientClosed() || ctx.Err() != nil {
				return nil, false
			}
			logFetchErrors(ctx, s.logger, fetches)
			return fetches.Records(), true
		case closed:
			return nil, false
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// commit stores marks as the group's offsets, as a simple consumer commits.
func (s *subscription) commit(ctx context.Context, marks map[int32]kgo.EpochOffset) error {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = s.group
	req.Generation = -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = s.topic
	rt.TopicID = s.topicID
	for p, m := range marks {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition = p
		rp.Offset = m.Offset
		rp.LeaderEpoch = m.Epoch
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, s.feed)
	if err != nil {
		return err
	}
	return commitError(resp)
}

// partitionsOf is topic's ID and partitions, waiting up to metadataWait for
// a topic just created to be known.
func partitionsOf(ctx context.Context, cl *kgo.Client, topic string) ([16]byte, []int32, error) {
	deadline := time.Now().Add(metadataWait)
	for {
		id, parts, err := listPartitions(ctx, cl, topic)
		if err == nil && len(parts) > 0 {
			return id, parts, nil
		}
		if err == nil {
			err = fmt.Errorf("metadata of %s: no partitions", topic)
		} else if !kerr.IsRetriable(err) {
			return id, nil, err
		}
		if time.Now().After(deadline) {
			return id, nil, err
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return id, nil, err
		}
	}
}

func listPartitions(ctx context.Context, cl *kgo.Client, topic string) (id [16]byte, parts []int32, err error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return id, nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return id, nil, fmt.Errorf("metadata of %s: %w", topic, err)
		}
		id = t.TopicID
		for _, p := range t.Partitions {
			parts = append(parts, p.Partition)
		}
	}
	return id, parts, nil
}

// committed is, per partition, what group has committed on topic (-1: nothing).
func committed(ctx context.Context, cl *kgo.Client, group, topic string) (map[int32]int64, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("offsets of %s: %w", group, err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); errors.Is(err, kerr.GroupIDNotFound) {
		return map[int32]int64{}, nil // a group that never committed
	} else if err != nil {
		return nil, fmt.Errorf("offsets of %s: %w", group, err)
	}
	out := map[int32]int64{}
	for _, t := range resp.Topics {
		if t.Topic != topic {
			continue
		}
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("offsets of %s: %w", group, err)
			}
			out[p.Partition] = p.Offset
		}
	}
	return out, nil
}
