package broker

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
)

func TestRetryPolicy(t *testing.T) {
	ptr := func(s string) *string { return &s }
	exp, lin := eventingduckv1.BackoffPolicyExponential, eventingduckv1.BackoffPolicyLinear
	three := int32(3)
	tests := map[string]struct {
		spec        *eventingduckv1.DeliverySpec
		wantRetries int
		wantBackoff []time.Duration // waits before retries 1..n
		wantTimeout time.Duration
	}{
		"no spec": {nil, 0, nil, 0},
		"exponential": {&eventingduckv1.DeliverySpec{Retry: &three, BackoffPolicy: &exp, BackoffDelay: ptr("PT0.5S"), Timeout: ptr("PT2S")},
			3, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, 2 * time.Second},
		"linear": {&eventingduckv1.DeliverySpec{Retry: &three, BackoffPolicy: &lin, BackoffDelay: ptr("PT1S")},
			3, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, 0},
		"no policy means exponential": {&eventingduckv1.DeliverySpec{Retry: &three, BackoffDelay: ptr("PT1S")},
			3, []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second}, 0},
		// Knative's ISO-8601 parser keeps a tenth of a second; finer delays become zero.
		"below a tenth of a second": {&eventingduckv1.DeliverySpec{Retry: &three, BackoffPolicy: &lin, BackoffDelay: ptr("PT0.05S")},
			3, []time.Duration{0, 0, 0}, 0},
		"minutes": {&eventingduckv1.DeliverySpec{Retry: &three, BackoffPolicy: &lin, BackoffDelay: ptr("PT1M")},
			3, []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute}, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := newRetryPolicy(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if p.retries != tc.wantRetries || p.timeout != tc.wantTimeout {
				t.Fatalf("retries %d timeout %v, want %d %v", p.retries, p.timeout, tc.wantRetries, tc.wantTimeout)
			}
			for i, want := range tc.wantBackoff {
				if got := p.backoff(i + 1); got != want {
					t.Errorf("backoff(%d) = %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

func TestRetryPolicyRejectsBadDurations(t *testing.T) {
	tests := map[string]*eventingduckv1.DeliverySpec{
		"delay not ISO-8601":   {BackoffDelay: strPtr("5s")},
		"timeout not ISO-8601": {Timeout: strPtr("soon")},
	}
	for name, spec := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := newRetryPolicy(spec); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func strPtr(s string) *string { return &s }

// TestDeliveryStatus proves which status codes are retried, with the
// configured backoff, and what a dead-lettered event carries.
func TestDeliveryStatus(t *testing.T) {
	seeds := newKafka(t)
	longBody := strings.Repeat("x", 3000)
	subs := newSubscribers(t, func(name string, e event.Event, w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(strings.Split(strings.TrimPrefix(name, "status-"), "-")[0])
		if err != nil {
			return // the dead-letter sink accepts
		}
		w.WriteHeader(code)
		if code == http.StatusInternalServerError {
			if _, err := w.Write([]byte(longBody)); err != nil {
				t.Errorf("write: %v", err)
			}
			return
		}
		if _, err := w.Write([]byte("failed " + name)); err != nil {
			t.Errorf("write: %v", err)
		}
	})
	cfg := loadTestConfig(t, "status.yaml")
	_, base := startServer(t, cfg, seeds, subs.resolver())
	if got := send(t, base, newEvent(t, "st-1", "STATUS_TEST", "/test", nil), false); got != http.StatusAccepted {
		t.Fatalf("send: %d", got)
	}
	var groups []string
	for _, tr := range cfg.Triggers {
		groups = append(groups, GroupName(tr.Namespace, tr.Name))
	}
	waitSettled(t, adminClient(t, seeds), groups...)

	dead := map[string]event.Event{}
	for _, r := range subs.events("dead-letter") {
		dest, ok := r.event.Extensions()[errorDestExt].(string)
		if !ok {
			t.Fatalf("dead-lettered event without %s: %v", errorDestExt, r.event)
		}
		dead[dest] = r.event
	}
	tests := map[string]struct {
		attempts   int
		backoff    []time.Duration // at least this long between attempts
		deadLetter bool
		errorData  string
	}{
		"status-400": {1, nil, true, "failed status-400"},
		"status-404": {3, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}, true, "failed status-404"},
		"status-429": {3, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}, true, "failed status-429"},
		"status-500": {3, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}, true, longBody[:maxErrorData]},
		// The Broker's delivery: retry 2, linear 100ms, no dead-letter sink.
		"status-503-broker-policy": {3, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, false, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := subs.events(name)
			if len(got) != tc.attempts {
				t.Fatalf("attempts = %d, want %d", len(got), tc.attempts)
			}
			for i, min := range tc.backoff {
				if gap := got[i+1].at.Sub(got[i].at); gap < min {
					t.Errorf("gap before retry %d = %v, want >= %v", i+1, gap, min)
				}
			}
			dl, ok := dead[subs.url(name)]
			if ok != tc.deadLetter {
				t.Fatalf("dead-lettered = %v, want %v", ok, tc.deadLetter)
			}
			if !ok {
				return
			}
			if dl.ID() != "st-1" || dl.Type() != "STATUS_TEST" {
				t.Errorf("dead-lettered %s/%s, want the original event", dl.ID(), dl.Type())
			}
			wantCode := strings.Split(strings.TrimPrefix(name, "status-"), "-")[0]
			if code := dl.Extensions()[errorCodeExt]; code != wantCode {
				t.Errorf("%s = %v, want %s", errorCodeExt, code, wantCode)
			}
			raw, _ := dl.Extensions()[errorDataExt].(string)
			data, err := base64.StdEncoding.DecodeString(raw)
			if err != nil || string(data) != tc.errorData {
				t.Errorf("%s = %q (%v), want %q", errorDataExt, data, err, tc.errorData)
			}
		})
	}
	if len(dead) != 4 {
		t.Errorf("dead-lettered %d events, want 4", len(dead))
	}
}

// TestFailingDeadLetterSinkIsRetried keeps the dead-letter sink failing for
// a while: the event is offered to it again until it takes it, and the
// offset is not committed before.
func TestFailingDeadLetterSinkIsRetried(t *testing.T) {
	seeds := newKafka(t)
	var mu sync.Mutex
	sinkCalls := 0
	subs := newSubscribers(t, func(name string, e event.Event, w http.ResponseWriter, r *http.Request) {
		switch name {
		case "status-400":
			w.WriteHeader(http.StatusBadRequest)
		case "dead-letter":
			mu.Lock()
			defer mu.Unlock()
			sinkCalls++
			if sinkCalls <= 2 {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}
	})
	cfg := onlyTriggers(loadTestConfig(t, "status.yaml"), "status-400")
	_, base := startServer(t, cfg, seeds, subs.resolver())
	admin := adminClient(t, seeds)
	if got := send(t, base, newEvent(t, "dl-1", "STATUS_TEST", "/test", nil), false); got != http.StatusAccepted {
		t.Fatalf("send: %d", got)
	}
	group := GroupName("knshop", "status-400")
	waitFor(t, 10*time.Second, "first dead-letter attempt", func() bool { return len(subs.events("dead-letter")) >= 1 })
	if c := total(committedOffsets(t, admin, group, testTopic)); c != 0 && len(subs.events("dead-letter")) < 3 {
		t.Fatalf("committed %d before the dead-letter sink took the event", c)
	}
	waitSettled(t, admin, group)
	if n := len(subs.events("dead-letter")); n != 3 {
		t.Fatalf("dead-letter sink calls = %d, want 3 (two failures, then accepted)", n)
	}
	if n := len(subs.events("status-400")); n != 1 {
		t.Fatalf("subscriber attempts = %d, want 1", n)
	}
}

// TestAttemptTimeout gives a subscriber that never answers a 0.2s timeout:
// each attempt is cut off and retried, then the event is dropped.
func TestAttemptTimeout(t *testing.T) {
	seeds := newKafka(t)
	subs := newSubscribers(t, func(name string, e event.Event, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	cfg := onlyTriggers(loadTestConfig(t, "status.yaml"), "status-500")
	one := int32(1)
	cfg.Triggers[0].Spec.Delivery.Retry = &one
	cfg.Triggers[0].Spec.Delivery.Timeout = strPtr("PT0.2S")
	cfg.Triggers[0].Spec.Delivery.DeadLetterSink = nil
	_, base := startServer(t, cfg, seeds, subs.resolver())
	start := time.Now()
	if got := send(t, base, newEvent(t, "slow-1", "STATUS_TEST", "/test", nil), false); got != http.StatusAccepted {
		t.Fatalf("send: %d", got)
	}
	waitSettled(t, adminClient(t, seeds), GroupName("knshop", "status-500"))
	if n := len(subs.events("status-500")); n != 2 {
		t.Fatalf("attempts = %d, want 2", n)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("took %v: attempts were not cut off at the timeout", took)
	}
}
