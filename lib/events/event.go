package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
)

// Extension attribute names the catalog sets on every event.
const (
	ExtPartitionKey = "partitionkey"
	ExtTraceparent  = "traceparent"
)

// ErrInvalid marks an event that can never be processed: wrong type, missing
// attributes, or data that does not match its schema. Errors wrapping it are
// permanent: the runtime answers 400 and the Broker does not retry.
var ErrInvalid = invalidError{}

type invalidError struct{}

func (invalidError) Error() string   { return "events: invalid event" }
func (invalidError) Permanent() bool { return true }

// Source is the CloudEvent source of a function's events: /knshop/<name>.
func Source(function string) string { return "/knshop/" + function }

// New builds the CloudEvent for d, emitted by the function named function:
// a fresh id, the type, source, subject, time (UTC), data content type,
// versioned dataschema, partitionkey and the traceparent carried by ctx (or a
// new trace). The data is validated against its schema before it leaves.
func New(ctx context.Context, function string, d Data) (event.Event, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return event.Event{}, fmt.Errorf("events: marshal %s: %w", d.EventType(), err)
	}
	if err := validate(d.EventType(), raw); err != nil {
		return event.Event{}, fmt.Errorf("events: build %s: %w", d.EventType(), err)
	}
	tp := Traceparent(ctx)
	if tp == "" {
		tp = NewTraceparent()
	}
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(uuid.NewString())
	e.SetType(string(d.EventType()))
	e.SetSource(Source(function))
	e.SetSubject(d.EventSubject())
	e.SetTime(time.Now().UTC())
	e.SetDataSchema(d.EventType().Schema())
	e.SetExtension(ExtPartitionKey, d.EventPartitionKey())
	e.SetExtension(ExtTraceparent, tp)
	if err := e.SetData(event.ApplicationJSON, json.RawMessage(raw)); err != nil {
		return event.Event{}, fmt.Errorf("events: set data of %s: %w", d.EventType(), err)
	}
	if err := e.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("events: build %s: %w", d.EventType(), err)
	}
	return e, nil
}

// Decode reads e's data into into, whose type must be e's type. It checks
// the CloudEvent attributes, the dataschema version and the data against the
// schema; any mismatch is an error wrapping ErrInvalid.
func Decode(e event.Event, into Data) error {
	want := into.EventType()
	if err := e.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if Type(e.Type()) != want {
		return fmt.Errorf("%w: type %q, want %s", ErrInvalid, e.Type(), want)
	}
	if ds := e.DataSchema(); ds != "" && ds != want.Schema() {
		return fmt.Errorf("%w: dataschema %q, want %s", ErrInvalid, ds, want.Schema())
	}
	if ct := e.DataContentType(); ct != "" && ct != event.ApplicationJSON && ct != "text/json" {
		return fmt.Errorf("%w: datacontenttype %q, want application/json", ErrInvalid, ct)
	}
	raw := e.Data()
	if err := validate(want, raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("%w: data of %s: %v", ErrInvalid, want, err)
	}
	return nil
}

// IsInvalid reports whether err marks an event that can never be processed.
func IsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// ContextFor returns ctx carrying e's traceparent, so events built while
// handling e continue its trace.
func ContextFor(ctx context.Context, e event.Event) context.Context {
	if tp, ok := e.Extensions()[ExtTraceparent].(string); ok {
		return WithTraceparent(ctx, tp)
	}
	return ctx
}
