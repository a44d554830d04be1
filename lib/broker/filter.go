package broker

import (
	"context"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/attributes"
	"knative.dev/eventing/pkg/eventfilter/subscriptionsapi"
)

// triggerFilter decides which events reach a Trigger's subscriber. The
// dialect's leaves (exact, prefix, suffix, cesql) and not are Knative
// Eventing's own filters. all and any are combined here: Knative's versions
// reorder their children from a background goroutine that races with
// concurrent Filter calls, and a Trigger here filters concurrently.
type triggerFilter struct {
	f eventfilter.Filter
	// typ is the one event type f can pass, when f says so by an exact
	// match on type; "" when it may pass more than one.
	typ string
}

// newTriggerFilter builds the filter of t: spec.filters when set (it takes
// precedence, as Knative documents), else spec.filter.attributes, else none.
func newTriggerFilter(t *eventingv1.Trigger) triggerFilter {
	switch {
	case len(t.Spec.Filters) > 0:
		tf := triggerFilter{f: allOf(materializeList(t.Spec.Filters))}
		for _, f := range t.Spec.Filters { // all must pass: one exact type decides
			if typ := f.Exact["type"]; typ != "" {
				tf.typ = typ
			}
		}
		return tf
	case t.Spec.Filter != nil && len(t.Spec.Filter.Attributes) > 0:
		return triggerFilter{f: attributes.NewAttributesFilter(t.Spec.Filter.Attributes), typ: t.Spec.Filter.Attributes["type"]}
	default:
		return triggerFilter{}
	}
}

// Pass reports whether e is to be delivered.
func (tf triggerFilter) Pass(ctx context.Context, e event.Event) bool {
	if tf.f == nil {
		return true
	}
	return tf.f.Filter(ctx, e) != eventfilter.FailFilter
}

// mayPass reports, from the record's type header alone, whether the filter
// may pass it: false only when the filter takes one exact type and the
// record names another. Every Trigger reads every record of the Broker's
// topic, so this spares decoding the records that are not its own.
func (tf triggerFilter) mayPass(rec *kgo.Record) bool {
	if tf.typ == "" {
		return true
	}
	for _, h := range rec.Headers {
		if strings.EqualFold(h.Key, typeHeader) {
			return string(h.Value) == tf.typ
		}
	}
	return true // not a CloudEvent: handle says so
}

// Close releases what the filter holds.
func (tf triggerFilter) Close() {
	if tf.f != nil {
		tf.f.Cleanup()
	}
}

// materialize turns one SubscriptionsAPIFilter into a filter, or nil for an
// empty or invalid one (loading has validated them already).
func materialize(f eventingv1.SubscriptionsAPIFilter) eventfilter.Filter {
	switch {
	case len(f.All) > 0:
		return allOf(materializeList(f.All))
	case len(f.Any) > 0:
		return anyOf(materializeList(f.Any))
	case f.Not != nil:
		inner := materialize(*f.Not)
		if inner == nil {
			return nil
		}
		return subscriptionsapi.NewNotFilter(inner)
	default:
		return subscriptionsapi.MaterializeSubscriptionsAPIFilter(zap.NewNop(), f)
	}
}

func materializeList(fs []eventingv1.SubscriptionsAPIFilter) []eventfilter.Filter {
	out := make([]eventfilter.Filter, 0, len(fs))
	for _, f := range fs {
		if m := materialize(f); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// combined is Knative's all and any filters: it asks each child in turn
// and answers the first result that decides (a failure for all, a pass for
// any), else the last child's, and with no child, no filter.
type combined struct {
	children []eventfilter.Filter
	decides  eventfilter.FilterResult
}

var _ eventfilter.Filter = combined{}

// allOf fails when any child fails, as Knative's all filter does.
func allOf(children []eventfilter.Filter) combined {
	return combined{children: children, decides: eventfilter.FailFilter}
}

// anyOf passes when any child passes, as Knative's any filter does.
func anyOf(children []eventfilter.Filter) combined {
	return combined{children: children, decides: eventfilter.PassFilter}
}

func (c combined) Filter(ctx context.Context, e event.Event) eventfilter.FilterResult {
	res := eventfilter.NoFilter
	for _, f := range c.children {
		if res = f.Filter(ctx, e); res == c.decides {
			return res
		}
	}
	return res
}

func (c combined) Cleanup() {
	for _, f := range c.children {
		f.Cleanup()
	}
}
