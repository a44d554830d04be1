package broker

import (
	"errors"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestRecordRoundTrip(t *testing.T) {
	full := newEvent(t, "rt-1", "ORDER_PLACED", "/knshop/orders", map[string]string{"subject": "o-1", "partitionkey": "o-1", "traceparent": "00-abc-def-01"})
	full.SetTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	full.SetDataSchema("urn:knshop:schema:ORDER_PLACED:1")
	bare := event.New()
	bare.SetID("rt-2")
	bare.SetType("PING")
	bare.SetSource("/test")
	tests := map[string]struct {
		e       event.Event
		wantKey string
	}{
		"every attribute":          {full, "o-1"},
		"no data, no partitionkey": {bare, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec, err := encodeRecord(testTopic, tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if string(rec.Key) != tc.wantKey {
				t.Errorf("key = %q, want %q", rec.Key, tc.wantKey)
			}
			got, err := decodeRecord(rec)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.e.String() {
				t.Errorf("round trip:\n got %s\nwant %s", got, tc.e)
			}
		})
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	h := func(kv ...string) []kgo.RecordHeader {
		var out []kgo.RecordHeader
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, kgo.RecordHeader{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return out
	}
	tests := map[string][]kgo.RecordHeader{
		"no headers":          nil,
		"unknown specversion": h("ce_specversion", "2.0", "ce_id", "x", "ce_type", "T", "ce_source", "/s"),
		"missing id":          h("ce_specversion", "1.0", "ce_type", "T", "ce_source", "/s"),
		"bad time":            h("ce_specversion", "1.0", "ce_id", "x", "ce_type", "T", "ce_source", "/s", "ce_time", "yesterday"),
	}
	for name, headers := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := decodeRecord(&kgo.Record{Headers: headers, Value: []byte("{}")})
			if !errors.Is(err, ErrNotCloudEvent) {
				t.Fatalf("err = %v, want ErrNotCloudEvent", err)
			}
		})
	}
}
