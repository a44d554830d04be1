package broker

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.uber.org/zap"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/attributes"
	"knative.dev/eventing/pkg/eventfilter/subscriptionsapi"
)

// triggerFilter decides which events reach a Trigger's subscriber, using the
// Knative Eventing filter implementations themselves.
type triggerFilter struct {
	f eventfilter.Filter
}

// newTriggerFilter builds the filter of t: spec.filters when set (it takes
// precedence, as Knative documents), else spec.filter.attributes, else none.
func newTriggerFilter(t *eventingv1.Trigger) triggerFilter {
	switch {
	case len(t.Spec.Filters) > 0:
		return triggerFilter{f: subscriptionsapi.CreateSubscriptionsAPIFilters(zap.NewNop(), t.Spec.Filters)}
	case t.Spec.Filter != nil && len(t.Spec.Filter.Attributes) > 0:
		return triggerFilter{f: attributes.NewAttributesFilter(t.Spec.Filter.Attributes)}
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

// Close releases what the filter holds.
func (tf triggerFilter) Close() {
	if tf.f != nil {
		tf.f.Cleanup()
	}
}
