package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"

	"github.com/knshop/knshop/lib/httpapi"
)

// DefaultMaxInFlight is how many events an unordered Trigger delivers at once.
const DefaultMaxInFlight = 32

// Sentinel errors of the Server.
var (
	// ErrNoBootstrapServers is returned by New without WithBootstrapServers.
	ErrNoBootstrapServers = errors.New("broker: no Kafka bootstrap servers")
	// ErrStarted is returned by a second Start.
	ErrStarted = errors.New("broker: already started")
)

// Option configures a Server.
type Option func(*options)

type options struct {
	seeds       []string
	resolver    Resolver
	logger      *slog.Logger
	httpClient  *http.Client
	maxInFlight int
	fetchWait   time.Duration
	maxBacklog  int
}

// WithBootstrapServers sets the Kafka cluster (host:port each). Required.
func WithBootstrapServers(seeds ...string) Option {
	return func(o *options) { o.seeds = append(o.seeds, seeds...) }
}

// WithResolver sets how subscriber and dead-letter refs become URLs.
func WithResolver(r Resolver) Option {
	return func(o *options) { o.resolver = r }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithHTTPClient sets the client used for deliveries (default: a client with no overall timeout).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) { o.httpClient = c }
}

// WithMaxInFlight bounds concurrent deliveries of an unordered Trigger.
func WithMaxInFlight(n int) Option {
	return func(o *options) { o.maxInFlight = n }
}

// WithFetchMaxWait bounds how long a fetch waits for new records (default 250ms).
func WithFetchMaxWait(d time.Duration) Option {
	return func(o *options) { o.fetchWait = d }
}

// WithMaxBacklog sets how many fetched records a Trigger may leave untaken
// before it stops sharing its Broker's fetch (default DefaultMaxBacklog).
func WithMaxBacklog(n int) Option {
	return func(o *options) { o.maxBacklog = n }
}

// Server runs the data plane of the configured Brokers and Triggers.
type Server struct {
	cfg      Config
	opts     options
	producer *kgo.Client
	ingress  *ingress

	mu        sync.Mutex
	started   bool
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	feeds     []*feed
	filters   []triggerFilter
	closeOnce sync.Once
}

// New builds a Server; nothing is contacted until Start.
func New(cfg Config, opts ...Option) (*Server, error) {
	o := options{logger: slog.Default(), maxInFlight: DefaultMaxInFlight, fetchWait: 250 * time.Millisecond, maxBacklog: DefaultMaxBacklog}
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.seeds) == 0 {
		return nil, ErrNoBootstrapServers
	}
	if o.httpClient == nil {
		o.httpClient = &http.Client{Transport: httpapi.NewTransport()}
	}
	if o.maxInFlight < 1 {
		o.maxInFlight = 1
	}
	if o.maxBacklog < 1 {
		o.maxBacklog = 1
	}
	producer, err := kgo.NewClient(kgo.SeedBrokers(o.seeds...), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("broker: new producer: %w", err)
	}
	topics := map[string]string{}
	for _, b := range cfg.Brokers {
		topics["/"+b.Broker.Namespace+"/"+b.Broker.Name] = b.Topic()
	}
	return &Server{
		cfg:      cfg,
		opts:     o,
		producer: producer,
		ingress:  &ingress{topics: topics, producer: producer, logger: o.logger},
	}, nil
}

// Handler is the ingress: POST /<namespace>/<broker>. Serve it after Start.
func (s *Server) Handler() http.Handler { return s.ingress }

// Start creates the Broker topics that are missing and starts, per Broker,
// one fetch of its topic shared by its Triggers, each Trigger with a consumer
// group of its own. The Triggers run until Close or until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	s.started = true
	for _, b := range s.cfg.Brokers {
		if err := createTopic(ctx, s.producer, b.Topic(), b.Partitions, b.ReplicationFactor); err != nil {
			return fmt.Errorf("broker: start: %w", err)
		}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	ds, err := s.newDispatchers(ctx)
	if err != nil {
		s.stopLocked()
		return fmt.Errorf("broker: start: %w", err)
	}
	for _, f := range s.feeds {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			f.run(runCtx)
		}()
	}
	for _, d := range ds {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			d.run(runCtx)
		}()
	}
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-runCtx.Done():
		}
	}()
	return nil
}

// newDispatchers builds a dispatcher per Trigger, then opens each Broker's
// feed and subscribes the Broker's Triggers to it.
func (s *Server) newDispatchers(ctx context.Context) ([]*dispatcher, error) {
	byTopic := map[string][]*dispatcher{}
	var topics []string
	var ds []*dispatcher
	for _, t := range s.cfg.Triggers {
		d, err := s.newDispatcher(t)
		if err != nil {
			return nil, fmt.Errorf("trigger %s/%s: %w", t.Namespace, t.Name, err)
		}
		if _, seen := byTopic[d.topic]; !seen {
			topics = append(topics, d.topic)
		}
		byTopic[d.topic] = append(byTopic[d.topic], d)
		ds = append(ds, d)
	}
	for _, topic := range topics {
		subscribers := byTopic[topic]
		groups := make([]string, len(subscribers))
		for i, d := range subscribers {
			groups[i] = d.group
		}
		f, err := newFeed(ctx, s.opts, topic, groups)
		if err != nil {
			return nil, err
		}
		s.feeds = append(s.feeds, f)
		for i, d := range subscribers {
			d.source = f.subs[i]
		}
	}
	return ds, nil
}

// newDispatcher is t's dispatcher, without its source yet.
func (s *Server) newDispatcher(t *eventingv1.Trigger) (*dispatcher, error) {
	b, ok := s.brokerOf(t)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownBroker, TriggerBroker(t))
	}
	tgt, err := s.targetOf(t, b)
	if err != nil {
		return nil, err
	}
	f := newTriggerFilter(t)
	s.filters = append(s.filters, f)
	return &dispatcher{
		topic:     b.Topic(),
		group:     GroupName(t.Namespace, t.Name),
		filter:    f,
		target:    tgt,
		ordered:   t.Annotations[DeliveryOrderAnnotation] == "ordered",
		inFlight:  make(chan struct{}, s.opts.maxInFlight),
		replies:   s.producer,
		deliverer: &deliverer{client: s.opts.httpClient, logger: s.opts.logger.With("trigger", t.Namespace+"/"+t.Name)},
		logger:    s.opts.logger.With("trigger", t.Namespace+"/"+t.Name),
	}, nil
}

func (s *Server) brokerOf(t *eventingv1.Trigger) (BrokerConfig, bool) {
	for _, b := range s.cfg.Brokers {
		if b.Broker.Namespace == t.Namespace && b.Broker.Name == TriggerBroker(t) {
			return b, true
		}
	}
	return BrokerConfig{}, false
}

// targetOf resolves the Trigger's subscriber and its delivery: the Trigger's
// spec.delivery when set, else the Broker's.
func (s *Server) targetOf(t *eventingv1.Trigger, b BrokerConfig) (target, error) {
	sub, err := resolveDestination(s.opts.resolver, t.Spec.Subscriber)
	if err != nil {
		return target{}, fmt.Errorf("subscriber: %w", err)
	}
	spec := t.Spec.Delivery
	if spec == nil {
		spec = b.Broker.Spec.Delivery
	}
	policy, err := newRetryPolicy(spec)
	if err != nil {
		return target{}, err
	}
	tgt := target{subscriber: sub, policy: policy}
	if spec != nil && spec.DeadLetterSink != nil {
		if tgt.deadLetter, err = resolveDestination(s.opts.resolver, *spec.DeadLetterSink); err != nil {
			return target{}, fmt.Errorf("dead-letter sink: %w", err)
		}
	}
	return tgt, nil
}

// Close stops consuming, abandons deliveries in flight without committing
// them, and closes the Kafka clients.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.stopLocked()
		s.producer.Close()
	})
	return nil
}

func (s *Server) stopLocked() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	for _, f := range s.feeds {
		f.close()
	}
	s.feeds = nil
	for _, f := range s.filters {
		f.Close()
	}
	s.filters = nil
}
