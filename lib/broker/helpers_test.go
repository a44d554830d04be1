package broker

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

const (
	testTopic   = "knative-broker-knshop-default"
	testIngress = "/knshop/default"
)

// newKafka starts an in-process Kafka cluster on loopback.
func newKafka(t testing.TB) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// loadTestConfig loads the test broker and the named trigger files.
func loadTestConfig(t testing.TB, triggerFiles ...string) Config {
	t.Helper()
	files := []string{filepath.Join("testdata", "brokers", "default.yaml")}
	for _, f := range triggerFiles {
		files = append(files, filepath.Join("testdata", "triggers", f))
	}
	cfg, err := Load(files...)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return cfg
}

// onlyTriggers keeps the named triggers of cfg.
func onlyTriggers(cfg Config, names ...string) Config {
	keep := map[string]bool{}
	for _, n := range names {
		keep[n] = true
	}
	out := Config{Brokers: cfg.Brokers}
	for _, tr := range cfg.Triggers {
		if keep[tr.Name] {
			out.Triggers = append(out.Triggers, tr)
		}
	}
	return out
}

// received is one request a subscriber saw.
type received struct {
	event event.Event
	at    time.Time
}

// respondFunc answers a subscriber request; name is the subscriber (the path).
type respondFunc func(name string, e event.Event, w http.ResponseWriter, r *http.Request)

func accept(string, event.Event, http.ResponseWriter, *http.Request) {}

// subscribers is one httptest server standing for every subscriber: the
// Service named X is served at /X.
type subscribers struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     map[string][]received
	respond respondFunc
}

func newSubscribers(t testing.TB, respond respondFunc) *subscribers {
	t.Helper()
	s := &subscribers{got: map[string][]received{}, respond: respond}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *subscribers) serve(w http.ResponseWriter, r *http.Request) {
	e, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	s.mu.Lock()
	s.got[name] = append(s.got[name], received{event: *e, at: time.Now()})
	s.mu.Unlock()
	s.respond(name, *e, w, r)
}

func (s *subscribers) resolver() Resolver {
	return ResolverFunc(func(ref duckv1.KReference) (*url.URL, error) {
		return url.Parse(s.srv.URL + "/" + ref.Name)
	})
}

func (s *subscribers) url(name string) string { return s.srv.URL + "/" + name }

func (s *subscribers) events(name string) []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got[name]...)
}

func (s *subscribers) ids(name string) []string {
	var ids []string
	for _, r := range s.events(name) {
		ids = append(ids, r.event.ID())
	}
	return ids
}

// startServer runs a Server on seeds and serves its ingress; it returns the ingress base URL.
func startServer(t testing.TB, cfg Config, seeds []string, r Resolver, opts ...Option) (*Server, string) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if tt, ok := t.(*testing.T); ok {
		logger = slog.New(slog.NewTextHandler(tt.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	opts = append([]Option{WithBootstrapServers(seeds...), WithResolver(r), WithLogger(logger), WithFetchMaxWait(50 * time.Millisecond)}, opts...)
	s, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	web := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		web.Close()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, web.URL
}

// newEvent builds a valid event with JSON data.
func newEvent(t testing.TB, id, typ, source string, ext map[string]string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource(source)
	for k, v := range ext {
		switch k {
		case "subject":
			e.SetSubject(v)
		default:
			e.SetExtension(k, v)
		}
	}
	if err := e.SetData(event.ApplicationJSON, map[string]string{"id": id}); err != nil {
		t.Fatal(err)
	}
	return e
}

// send posts e to the ingress in binary (or structured) mode and returns the status.
func send(t testing.TB, ingressURL string, e event.Event, structured bool) int {
	t.Helper()
	ctx := t.Context()
	if structured {
		ctx = binding.WithForceStructured(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ingressURL+testIngress, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

func mustRequest(t testing.TB, method, u string, body []byte, header map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

// adminClient is a plain client for offset queries.
func adminClient(t testing.TB, seeds []string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// endOffsets is the high watermark of every partition of topic.
func endOffsets(t testing.TB, cl *kgo.Client, topic string) map[int32]int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	meta.Topics = append(meta.Topics, mt)
	mresp, err := meta.RequestWith(t.Context(), cl)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	for _, p := range mresp.Topics[0].Partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p.Partition
		rp.Timestamp = -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(t.Context(), cl)
	if err != nil {
		t.Fatalf("list offsets: %v", err)
	}
	out := map[int32]int64{}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				t.Fatalf("list offsets partition %d: %v", p.Partition, err)
			}
			out[p.Partition] = p.Offset
		}
	}
	return out
}

func total(offsets map[int32]int64) int64 {
	var n int64
	for _, o := range offsets {
		n += o
	}
	return n
}

// committedOffsets is what group has committed on topic.
func committedOffsets(t testing.TB, cl *kgo.Client, group, topic string) map[int32]int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	resp, err := req.RequestWith(t.Context(), cl)
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[int32]int64{}
	for _, tp := range resp.Topics {
		if tp.Topic != topic {
			continue
		}
		for _, p := range tp.Partitions {
			if p.Offset >= 0 {
				out[p.Partition] = p.Offset
			}
		}
	}
	return out
}

// waitSettled waits until every group has committed every record of the topic.
func waitSettled(t testing.TB, cl *kgo.Client, groups ...string) {
	t.Helper()
	waitFor(t, 20*time.Second, "groups settle", func() bool {
		end := endOffsets(t, cl, testTopic)
		for _, g := range groups {
			c := committedOffsets(t, cl, g, testTopic)
			for p, o := range end {
				if o > 0 && c[p] != o {
					return false
				}
			}
		}
		return true
	})
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
