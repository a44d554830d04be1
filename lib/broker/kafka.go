package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The CloudEvents Kafka binding, binary content mode: every attribute is a
// ce_-prefixed header, datacontenttype is the content-type header, data is
// the record value and the partitionkey extension is the record key.
const (
	headerPrefix      = "ce_"
	typeHeader        = headerPrefix + "type"
	contentTypeHeader = "content-type"
	partitionKeyExt   = "partitionkey"
)

// ErrNotCloudEvent is returned for a record that is not a binary-mode CloudEvent.
var ErrNotCloudEvent = errors.New("broker: record is not a CloudEvent")

var kafkaSpecs = spec.WithPrefix(headerPrefix)

// encodeRecord writes e as a binary-mode record for topic.
func encodeRecord(topic string, e event.Event) (*kgo.Record, error) {
	v := kafkaSpecs.Version(e.SpecVersion())
	if v == nil {
		return nil, fmt.Errorf("encode record: %w: specversion %q", ErrNotCloudEvent, e.SpecVersion())
	}
	rec := &kgo.Record{Topic: topic, Value: e.Data()}
	for _, attr := range v.Attributes() {
		if attr.Kind() == spec.DataContentType {
			continue
		}
		val := attr.Get(e.Context)
		if val == nil {
			continue
		}
		s, err := types.Format(val)
		if err != nil {
			return nil, fmt.Errorf("encode record: attribute %s: %w", attr.Name(), err)
		}
		if s == "" {
			continue
		}
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: attr.PrefixedName(), Value: []byte(s)})
	}
	if ct := e.DataContentType(); ct != "" {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: contentTypeHeader, Value: []byte(ct)})
	}
	for name, val := range e.Extensions() {
		s, err := types.Format(val)
		if err != nil {
			return nil, fmt.Errorf("encode record: extension %s: %w", name, err)
		}
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: headerPrefix + name, Value: []byte(s)})
		if name == partitionKeyExt && s != "" {
			rec.Key = []byte(s)
		}
	}
	return rec, nil
}

// decodeRecord reads a binary-mode record back into an event and validates it.
func decodeRecord(rec *kgo.Record) (event.Event, error) {
	var specVersion string
	for _, h := range rec.Headers {
		if strings.EqualFold(h.Key, kafkaSpecs.PrefixedSpecVersionName()) {
			specVersion = string(h.Value)
		}
	}
	v := kafkaSpecs.Version(specVersion)
	if v == nil {
		return event.Event{}, fmt.Errorf("decode record: %w: specversion %q", ErrNotCloudEvent, specVersion)
	}
	e := event.Event{Context: v.NewContext()}
	for _, h := range rec.Headers {
		key := strings.ToLower(h.Key)
		switch {
		case key == contentTypeHeader:
			if err := e.Context.SetDataContentType(string(h.Value)); err != nil {
				return event.Event{}, fmt.Errorf("decode record: %w: %w", ErrNotCloudEvent, err)
			}
		case strings.HasPrefix(key, headerPrefix):
			if err := setAttribute(&e, v, key, string(h.Value)); err != nil {
				return event.Event{}, fmt.Errorf("decode record: %w: %w", ErrNotCloudEvent, err)
			}
		}
	}
	if len(rec.Value) > 0 {
		e.DataEncoded = rec.Value
	}
	if err := e.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("decode record: %w: %w", ErrNotCloudEvent, err)
	}
	return e, nil
}

func setAttribute(e *event.Event, v spec.Version, key, value string) error {
	if attr := v.Attribute(key); attr != nil {
		if attr.Kind() == spec.SpecVersion {
			return nil
		}
		return attr.Set(e.Context, value)
	}
	return e.Context.SetExtension(strings.TrimPrefix(key, headerPrefix), value)
}

// createTopic creates topic unless it exists.
func createTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32, replication int16) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic = topic
	t.NumPartitions = partitions
	t.ReplicationFactor = replication
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	return nil
}
