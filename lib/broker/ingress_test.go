package broker

import (
	"net/http"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestIngressStatus(t *testing.T) {
	seeds := newKafka(t)
	_, base := startServer(t, loadTestConfig(t), seeds, nil)
	admin := adminClient(t, seeds)

	binaryHeaders := func(drop string) map[string]string {
		h := map[string]string{
			"ce-specversion": "1.0", "ce-id": "b-1", "ce-type": "ORDER_PLACED",
			"ce-source": "/knshop/orders", "content-type": "application/json",
		}
		delete(h, drop)
		return h
	}
	tests := map[string]struct {
		method, path string
		body         []byte
		header       map[string]string
		want         int
		stored       bool
	}{
		"binary event": {http.MethodPost, testIngress, []byte(`{"a":1}`), binaryHeaders(""), http.StatusAccepted, true},
		"structured event": {http.MethodPost, testIngress,
			[]byte(`{"specversion":"1.0","id":"s-1","type":"ORDER_PLACED","source":"/knshop/orders","data":{"a":1}}`),
			map[string]string{"content-type": "application/cloudevents+json"}, http.StatusAccepted, true},
		"binary without type":   {http.MethodPost, testIngress, nil, binaryHeaders("ce-type"), http.StatusBadRequest, false},
		"binary without id":     {http.MethodPost, testIngress, nil, binaryHeaders("ce-id"), http.StatusBadRequest, false},
		"binary without source": {http.MethodPost, testIngress, nil, binaryHeaders("ce-source"), http.StatusBadRequest, false},
		"unknown specversion": {http.MethodPost, testIngress, nil,
			map[string]string{"ce-specversion": "9.9", "ce-id": "x", "ce-type": "T", "ce-source": "/s"}, http.StatusBadRequest, false},
		"structured without type": {http.MethodPost, testIngress,
			[]byte(`{"specversion":"1.0","id":"s-2","source":"/knshop/orders"}`),
			map[string]string{"content-type": "application/cloudevents+json"}, http.StatusBadRequest, false},
		"structured malformed json": {http.MethodPost, testIngress, []byte(`{"specversion":`),
			map[string]string{"content-type": "application/cloudevents+json"}, http.StatusBadRequest, false},
		"plain json is not an event": {http.MethodPost, testIngress, []byte(`{"a":1}`),
			map[string]string{"content-type": "application/json"}, http.StatusBadRequest, false},
		"unknown broker":    {http.MethodPost, "/knshop/other", []byte(`{}`), binaryHeaders(""), http.StatusNotFound, false},
		"unknown namespace": {http.MethodPost, "/elsewhere/default", []byte(`{}`), binaryHeaders(""), http.StatusNotFound, false},
		"GET":               {http.MethodGet, testIngress, nil, nil, http.StatusMethodNotAllowed, false},
		"PUT":               {http.MethodPut, testIngress, []byte(`{}`), binaryHeaders(""), http.StatusMethodNotAllowed, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := total(endOffsets(t, admin, testTopic))
			got := do(t, mustRequest(t, tc.method, base+tc.path, tc.body, tc.header))
			if got != tc.want {
				t.Fatalf("status = %d, want %d", got, tc.want)
			}
			written := total(endOffsets(t, admin, testTopic)) - before
			if want := map[bool]int64{true: 1, false: 0}[tc.stored]; written != want {
				t.Fatalf("records written = %d, want %d", written, want)
			}
		})
	}
}

func TestIngressWritesBinaryRecord(t *testing.T) {
	seeds := newKafka(t)
	_, base := startServer(t, loadTestConfig(t), seeds, nil)
	e := newEvent(t, "rec-1", "ORDER_PLACED", "/knshop/orders", map[string]string{"subject": "o-1", "partitionkey": "o-1"})
	if got := send(t, base, e, true); got != http.StatusAccepted {
		t.Fatalf("status = %d", got)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(testTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fetches := cl.PollRecords(t.Context(), 1)
	if errs := fetches.Errors(); len(errs) > 0 {
		t.Fatalf("fetch: %v", errs)
	}
	recs := fetches.Records()
	if len(recs) != 1 {
		t.Fatalf("records = %d", len(recs))
	}
	rec := recs[0]
	headers := map[string]string{}
	for _, h := range rec.Headers {
		headers[h.Key] = string(h.Value)
	}
	want := map[string]string{
		"ce_specversion": "1.0", "ce_id": "rec-1", "ce_type": "ORDER_PLACED", "ce_source": "/knshop/orders",
		"ce_subject": "o-1", "ce_partitionkey": "o-1", "content-type": event.ApplicationJSON,
	}
	for k, v := range want {
		if headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, headers[k], v)
		}
	}
	if string(rec.Key) != "o-1" {
		t.Errorf("key = %q, want o-1", rec.Key)
	}
	if string(rec.Value) != `{"id":"rec-1"}` {
		t.Errorf("value = %s", rec.Value)
	}
}
