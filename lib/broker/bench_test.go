package broker

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// benchSenders is how many clients post at once in both benchmarks.
const benchSenders = 32

// BenchmarkIngressToTrigger measures events/s from HTTP ingress through Kafka
// and a Trigger to a subscriber that answers 204 at once.
func BenchmarkIngressToTrigger(b *testing.B) {
	seeds := newKafka(b)
	var delivered atomic.Int64
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		delivered.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(sub.Close)
	resolver := ResolverFunc(func(duckv1.KReference) (*url.URL, error) { return url.Parse(sub.URL) })
	_, base := startServer(b, loadTestConfig(b, "bench.yaml"), seeds, resolver)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchSenders}}
	body := []byte(`{"orderId":"o-1","total":{"amount":1999,"currency":"EUR"}}`)

	b.ResetTimer()
	start := time.Now()
	runSenders(b, b.N, func(i int) error {
		req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, base+testIngress, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("ce-specversion", "1.0")
		req.Header.Set("ce-id", fmt.Sprintf("bench-%d", i))
		req.Header.Set("ce-type", "BENCH")
		req.Header.Set("ce-source", "/bench")
		req.Header.Set("ce-partitionkey", fmt.Sprintf("k-%d", i%64))
		req.Header.Set("content-type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	waitCount(b, &delivered, int64(b.N))
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkRawProduceConsume is the baseline: the same records produced by
// a Kafka client and read by a consumer, on the same kind of cluster.
func BenchmarkRawProduceConsume(b *testing.B) {
	seeds := newKafka(b)
	admin := adminClient(b, seeds)
	if err := createTopic(b.Context(), admin, testTopic, 3, 1); err != nil {
		b.Fatal(err)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(testTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cons.Close)
	var consumed atomic.Int64
	ctx, cancel := context.WithCancel(b.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			consumed.Add(int64(cons.PollFetches(ctx).NumRecords()))
		}
	}()
	prod, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(prod.Close)
	body := []byte(`{"orderId":"o-1","total":{"amount":1999,"currency":"EUR"}}`)

	b.ResetTimer()
	start := time.Now()
	runSenders(b, b.N, func(i int) error {
		rec := &kgo.Record{Topic: testTopic, Key: fmt.Appendf(nil, "k-%d", i%64), Value: body, Headers: []kgo.RecordHeader{
			{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: fmt.Appendf(nil, "bench-%d", i)},
			{Key: "ce_type", Value: []byte("BENCH")}, {Key: "ce_source", Value: []byte("/bench")},
		}}
		return prod.ProduceSync(b.Context(), rec).FirstErr()
	})
	waitCount(b, &consumed, int64(b.N))
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	cancel()
	wg.Wait()
}

// runSenders calls send for 0..n-1 from benchSenders goroutines.
func runSenders(b *testing.B, n int, send func(i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchSenders)
	for range benchSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := send(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// waitCount waits until c reaches n.
func waitCount(b *testing.B, c *atomic.Int64, n int64) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for c.Load() < n {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d events arrived", c.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}
