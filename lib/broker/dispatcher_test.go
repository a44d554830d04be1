package broker

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestReplyIsRoutedToAnotherTrigger(t *testing.T) {
	seeds := newKafka(t)
	subs := newSubscribers(t, func(name string, e event.Event, w http.ResponseWriter, r *http.Request) {
		if name != "replier" {
			return
		}
		reply := newEvent(t, "reply-of-"+e.ID(), "STOCK_RESERVED", "/knshop/reserve-stock", map[string]string{"partitionkey": "o-1"})
		if err := cehttp.WriteResponseWriter(r.Context(), binding.ToMessage(&reply), http.StatusOK, w); err != nil {
			t.Errorf("write reply: %v", err)
		}
	})
	cfg := onlyTriggers(loadTestConfig(t, "flow.yaml"), "replier", "reply-reader")
	_, base := startServer(t, cfg, seeds, subs.resolver())
	if got := send(t, base, newEvent(t, "order-1", "ORDER_PLACED", "/knshop/orders", map[string]string{"partitionkey": "o-1"}), false); got != http.StatusAccepted {
		t.Fatalf("send: %d", got)
	}
	waitFor(t, 10*time.Second, "reply delivered", func() bool { return len(subs.events("reply-reader")) > 0 })
	waitSettled(t, adminClient(t, seeds), GroupName("knshop", "replier"), GroupName("knshop", "reply-reader"))
	got := subs.events("reply-reader")
	if len(got) != 1 || got[0].event.ID() != "reply-of-order-1" {
		t.Fatalf("reply-reader got %v, want reply-of-order-1 once", subs.ids("reply-reader"))
	}
	if pk := got[0].event.Extensions()[partitionKeyExt]; pk != "o-1" {
		t.Errorf("reply partitionkey = %v, want o-1", pk)
	}
	if n := len(subs.events("replier")); n != 1 {
		t.Errorf("replier got %d events, want 1 (its own reply must not match)", n)
	}
}

func TestInvalidReplyIsDeadLettered(t *testing.T) {
	seeds := newKafka(t)
	subs := newSubscribers(t, func(name string, e event.Event, w http.ResponseWriter, r *http.Request) {
		if name != "replier" {
			return
		}
		w.Header().Set("ce-specversion", "1.0")
		w.Header().Set("ce-id", "no-type-or-source")
		w.WriteHeader(http.StatusOK)
	})
	cfg := onlyTriggers(loadTestConfig(t, "flow.yaml"), "replier")
	cfg.Triggers[0].Spec.Delivery = cfg.Brokers[0].Broker.Spec.Delivery.DeepCopy()
	cfg.Triggers[0].Spec.Delivery.DeadLetterSink = cfg.Triggers[0].Spec.Subscriber.DeepCopy()
	cfg.Triggers[0].Spec.Delivery.DeadLetterSink.Ref.Name = "dead-letter"
	_, base := startServer(t, cfg, seeds, subs.resolver())
	if got := send(t, base, newEvent(t, "order-2", "ORDER_PLACED", "/knshop/orders", nil), false); got != http.StatusAccepted {
		t.Fatalf("send: %d", got)
	}
	waitSettled(t, adminClient(t, seeds), GroupName("knshop", "replier"))
	if n := len(subs.events("replier")); n != 1 {
		t.Errorf("replier attempts = %d, want 1 (an invalid reply is not retried)", n)
	}
	dl := subs.events("dead-letter")
	if len(dl) != 1 || dl[0].event.Extensions()[errorCodeExt] != "200" {
		t.Fatalf("dead-letter got %v", dl)
	}
}

// TestCloseMidDeliveryRedelivers stops a broker while its subscriber holds an
// event, then starts another on the same Kafka: the event arrives again.
func TestCloseMidDeliveryRedelivers(t *testing.T) {
	seeds := newKafka(t)
	cfg := onlyTriggers(loadTestConfig(t, "flow.yaml"), "ordered")
	admin := adminClient(t, seeds)

	holding := make(chan struct{})
	var once sync.Once
	first := newSubscribers(t, func(name string, e event.Event, w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(holding) })
		<-r.Context().Done()
	})
	s1, base := startServer(t, cfg, seeds, first.resolver())
	if got := send(t, base, newEvent(t, "held-1", "SEQUENCE", "/test", nil), false); got != http.StatusAccepted {
		t.Fatalf("send: %d", got)
	}
	select {
	case <-holding:
	case <-time.After(10 * time.Second):
		t.Fatal("subscriber never called")
	}
	if err := s1.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	group := GroupName("knshop", "ordered")
	if c := total(committedOffsets(t, admin, group, testTopic)); c != 0 {
		t.Fatalf("committed %d records before delivery finished", c)
	}

	second := newSubscribers(t, accept)
	startServer(t, cfg, seeds, second.resolver())
	waitSettled(t, admin, group)
	if ids := second.ids("ordered"); len(ids) != 1 || ids[0] != "held-1" {
		t.Fatalf("second broker delivered %v, want [held-1]", ids)
	}
}

// TestOrderedDeliveryPerPartitionKey sends interleaved sequences for several
// keys to a subscriber that answers slowly: each key arrives in order, one at a time.
func TestOrderedDeliveryPerPartitionKey(t *testing.T) {
	seeds := newKafka(t)
	var mu sync.Mutex
	busy := map[int32]bool{}
	overlap := false
	subs := newSubscribers(t, func(name string, e event.Event, w http.ResponseWriter, r *http.Request) {
		p, err := strconv.Atoi(e.Extensions()["seq"].(string))
		if err != nil {
			t.Errorf("seq: %v", err)
		}
		key := e.Extensions()[partitionKeyExt].(string)
		part := int32(len(key)) // distinct per test key; only used to spot overlap within one key
		mu.Lock()
		if busy[part] {
			overlap = true
		}
		busy[part] = true
		mu.Unlock()
		time.Sleep(time.Duration(p%3) * time.Millisecond)
		mu.Lock()
		busy[part] = false
		mu.Unlock()
	})
	cfg := onlyTriggers(loadTestConfig(t, "flow.yaml"), "ordered")
	_, base := startServer(t, cfg, seeds, subs.resolver())
	keys := []string{"k", "kk", "kkk", "kkkk"}
	const perKey = 15
	for i := range perKey {
		for _, k := range keys {
			e := newEvent(t, fmt.Sprintf("%s-%d", k, i), "SEQUENCE", "/test", map[string]string{"partitionkey": k, "seq": strconv.Itoa(i)})
			if got := send(t, base, e, false); got != http.StatusAccepted {
				t.Fatalf("send: %d", got)
			}
		}
	}
	waitSettled(t, adminClient(t, seeds), GroupName("knshop", "ordered"))
	seqs := map[string][]int{}
	for _, r := range subs.events("ordered") {
		n, err := strconv.Atoi(r.event.Extensions()["seq"].(string))
		if err != nil {
			t.Fatal(err)
		}
		k := r.event.Extensions()[partitionKeyExt].(string)
		seqs[k] = append(seqs[k], n)
	}
	for _, k := range keys {
		t.Run(k, func(t *testing.T) {
			got := seqs[k]
			if len(got) != perKey {
				t.Fatalf("delivered %d, want %d", len(got), perKey)
			}
			for i, n := range got {
				if n != i {
					t.Fatalf("order %v, want 0..%d", got, perKey-1)
				}
			}
		})
	}
	if overlap {
		t.Error("two events of one key were in delivery at once")
	}
}

// TestRawRecordIsDelivered produces a binary-mode record straight to the
// topic, as kcat -P -H ce_... would, and expects it at the matching trigger.
func TestRawRecordIsDelivered(t *testing.T) {
	seeds := newKafka(t)
	subs := newSubscribers(t, accept)
	cfg := onlyTriggers(loadTestConfig(t, "flow.yaml"), "ordered")
	startServer(t, cfg, seeds, subs.resolver())
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	tests := map[string]struct {
		headers []kgo.RecordHeader
		deliver bool
	}{
		"binary-mode CloudEvent": {[]kgo.RecordHeader{
			{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte("raw-1")},
			{Key: "ce_type", Value: []byte("SEQUENCE")}, {Key: "ce_source", Value: []byte("/raw")},
			{Key: "ce_partitionkey", Value: []byte("raw")}, {Key: "content-type", Value: []byte("application/json")},
		}, true},
		"no ce_ headers": {nil, false},
		"missing ce_type": {[]kgo.RecordHeader{
			{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte("raw-2")}, {Key: "ce_source", Value: []byte("/raw")},
		}, false},
	}
	for name, tc := range tests {
		rec := &kgo.Record{Topic: testTopic, Key: []byte("raw"), Value: []byte(`{"n":1}`), Headers: tc.headers}
		if err := cl.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
			t.Fatalf("%s: produce: %v", name, err)
		}
	}
	// Records that are not CloudEvents are skipped and committed, not retried forever.
	waitSettled(t, adminClient(t, seeds), GroupName("knshop", "ordered"))
	got := subs.events("ordered")
	if len(got) != 1 {
		t.Fatalf("delivered %v, want only raw-1", subs.ids("ordered"))
	}
	e := got[0].event
	if e.ID() != "raw-1" || e.Source() != "/raw" || string(e.Data()) != `{"n":1}` || e.DataContentType() != "application/json" {
		t.Fatalf("delivered %v", e)
	}
}

// TestUnorderedRetryDoesNotBlockOthers keeps one event failing with slow
// retries: later events of the same partition are delivered meanwhile, and
// the committed offset does not pass the failing one until it is dropped.
func TestUnorderedRetryDoesNotBlockOthers(t *testing.T) {
	seeds := newKafka(t)
	subs := newSubscribers(t, func(name string, e event.Event, w http.ResponseWriter, r *http.Request) {
		if e.ID() == "failing" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	cfg := onlyTriggers(loadTestConfig(t, "flow.yaml"), "unordered")
	_, base := startServer(t, cfg, seeds, subs.resolver())
	admin := adminClient(t, seeds)
	key := map[string]string{"partitionkey": "same"}
	if got := send(t, base, newEvent(t, "failing", "MIXED", "/test", key), false); got != http.StatusAccepted {
		t.Fatalf("send: %d", got)
	}
	const others = 10
	for i := range others {
		if got := send(t, base, newEvent(t, fmt.Sprintf("ok-%d", i), "MIXED", "/test", key), false); got != http.StatusAccepted {
			t.Fatalf("send: %d", got)
		}
	}
	waitFor(t, 10*time.Second, "other events delivered", func() bool {
		return len(subs.events("unordered")) >= others+1
	})
	attempts := func() int {
		n := 0
		for _, r := range subs.events("unordered") {
			if r.event.ID() == "failing" {
				n++
			}
		}
		return n
	}
	if n := attempts(); n >= 4 {
		t.Fatalf("the failing event finished its %d attempts before the others arrived", n)
	}
	group := GroupName("knshop", "unordered")
	time.Sleep(2 * commitInterval)
	if c := total(committedOffsets(t, admin, group, testTopic)); c > 0 && attempts() < 4 {
		// Every event shares one partition and the failing one is first.
		t.Fatalf("committed %d while the first record is still being retried", c)
	}
	waitSettled(t, admin, group)
	if n := attempts(); n != 4 {
		t.Fatalf("failing event attempts = %d, want 4", n)
	}
}
