package broker

import (
	"net/http"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
)

// TestRouting sends one set of events through ingress, Kafka and every
// filter kind, and checks each subscriber got exactly the events it matches.
func TestRouting(t *testing.T) {
	seeds := newKafka(t)
	subs := newSubscribers(t, accept)
	cfg := loadTestConfig(t, "filters.yaml")
	_, base := startServer(t, cfg, seeds, subs.resolver())

	events := []struct {
		id, typ, source string
		ext             map[string]string
	}{
		{"e1", "ORDER_PLACED", "/knshop/orders", map[string]string{"subject": "o1", "partitionkey": "o1"}},
		{"e2", "PAYMENT_SUCCESS", "/knshop/payments", nil},
		{"e3", "USER_UPDATED", "/knshop/users", map[string]string{"subject": "u1"}},
		{"e4", "USER_UPDATED", "/knshop/users", map[string]string{"subject": "u2"}},
		{"e5", "DELIVERY_COMPLETED", "/knshop/deliveries", nil},
		{"e6", "STOCK_RESERVED", "/knshop/stock", map[string]string{"partitionkey": "o-9"}},
		{"e7", "STOCK_RESERVED", "/knshop/stock", map[string]string{"partitionkey": "o-8"}},
		{"e8", "PRODUCT_ADDED", "/knshop/products", nil},
		{"e9", "PRODUCT_ADDED", "/knshop/other", nil},
		{"e10", "USER_DELETED", "/knshop/users", nil},
		{"e11", "ORDER_CANCELLED", "/knshop/orders", nil},
	}
	for _, ev := range events {
		if got := send(t, base, newEvent(t, ev.id, ev.typ, ev.source, ev.ext), false); got != http.StatusAccepted {
			t.Fatalf("send %s: status %d", ev.id, got)
		}
	}
	var groups []string
	for _, tr := range cfg.Triggers {
		groups = append(groups, GroupName(tr.Namespace, tr.Name))
	}
	waitSettled(t, adminClient(t, seeds), groups...)

	want := map[string][]string{
		"exact":      {"e1"},
		"prefix":     {"e2"},
		"suffix":     {"e1", "e11"},
		"all":        {"e3"},
		"any":        {"e5"},
		"not":        {"e10", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"},
		"cesql":      {"e6"},
		"attributes": {"e8"},
		"both":       {"e10"},
	}
	for name, ids := range want {
		t.Run(name, func(t *testing.T) {
			got := subs.ids(name)
			slices.Sort(got)
			if !slices.Equal(got, ids) {
				t.Fatalf("delivered %v, want %v", got, ids)
			}
		})
	}
}

func TestTriggerFilter(t *testing.T) {
	e := newEvent(t, "f-1", "ORDER_PLACED", "/knshop/orders", map[string]string{"subject": "o-1", "partitionkey": "o-1"})
	exact := func(k, v string) eventingv1.SubscriptionsAPIFilter {
		return eventingv1.SubscriptionsAPIFilter{Exact: map[string]string{k: v}}
	}
	tests := map[string]struct {
		spec eventingv1.TriggerSpec
		want bool
	}{
		"no filter passes":                  {eventingv1.TriggerSpec{}, true},
		"attributes match":                  {eventingv1.TriggerSpec{Filter: &eventingv1.TriggerFilter{Attributes: map[string]string{"type": "ORDER_PLACED", "subject": "o-1"}}}, true},
		"attributes mismatch":               {eventingv1.TriggerSpec{Filter: &eventingv1.TriggerFilter{Attributes: map[string]string{"type": "ORDER_PLACED", "subject": "o-2"}}}, false},
		"attributes on an extension":        {eventingv1.TriggerSpec{Filter: &eventingv1.TriggerFilter{Attributes: map[string]string{"partitionkey": "o-1"}}}, true},
		"filters list is an and":            {eventingv1.TriggerSpec{Filters: []eventingv1.SubscriptionsAPIFilter{exact("type", "ORDER_PLACED"), exact("subject", "o-2")}}, false},
		"not of all":                        {eventingv1.TriggerSpec{Filters: []eventingv1.SubscriptionsAPIFilter{{Not: &eventingv1.SubscriptionsAPIFilter{All: []eventingv1.SubscriptionsAPIFilter{exact("type", "ORDER_PLACED"), exact("subject", "o-2")}}}}}, true},
		"any nested in all":                 {eventingv1.TriggerSpec{Filters: []eventingv1.SubscriptionsAPIFilter{{All: []eventingv1.SubscriptionsAPIFilter{{Any: []eventingv1.SubscriptionsAPIFilter{exact("type", "X"), exact("type", "ORDER_PLACED")}}, {Prefix: map[string]string{"source": "/knshop/"}}}}}}, true},
		"any with no match":                 {eventingv1.TriggerSpec{Filters: []eventingv1.SubscriptionsAPIFilter{{Any: []eventingv1.SubscriptionsAPIFilter{exact("type", "X"), exact("type", "Y")}}}}, false},
		"cesql on an extension":             {eventingv1.TriggerSpec{Filters: []eventingv1.SubscriptionsAPIFilter{{CESQL: "partitionkey LIKE 'o-%'"}}}, true},
		"filters win over attributes":       {eventingv1.TriggerSpec{Filter: &eventingv1.TriggerFilter{Attributes: map[string]string{"type": "X"}}, Filters: []eventingv1.SubscriptionsAPIFilter{exact("type", "ORDER_PLACED")}}, true},
		"filters win over attributes (neg)": {eventingv1.TriggerSpec{Filter: &eventingv1.TriggerFilter{Attributes: map[string]string{"type": "ORDER_PLACED"}}, Filters: []eventingv1.SubscriptionsAPIFilter{exact("type", "X")}}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newTriggerFilter(&eventingv1.Trigger{Spec: tc.spec})
			defer f.Close()
			if got := f.Pass(t.Context(), e); got != tc.want {
				t.Fatalf("Pass = %v, want %v", got, tc.want)
			}
			rec, err := encodeRecord("t", e)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want && !f.mayPass(rec) {
				t.Fatal("the record was skipped by its type header, but the filter passes it")
			}
		})
	}
}

// A Trigger that takes one exact type skips, by the record's type header
// alone, the records of other types; what it cannot tell that way it
// decodes and filters.
func TestTriggerSkipsOtherTypes(t *testing.T) {
	e := newEvent(t, "f-1", "ORDER_PLACED", "/knshop/orders", map[string]string{"subject": "o-1"})
	rec, err := encodeRecord("t", e)
	if err != nil {
		t.Fatal(err)
	}
	exact := func(k, v string) eventingv1.SubscriptionsAPIFilter {
		return eventingv1.SubscriptionsAPIFilter{Exact: map[string]string{k: v}}
	}
	tests := map[string]struct {
		spec eventingv1.TriggerSpec
		skip bool
	}{
		"attributes, another type":          {eventingv1.TriggerSpec{Filter: &eventingv1.TriggerFilter{Attributes: map[string]string{"type": "STOCK_RESERVED"}}}, true},
		"attributes, its type":              {eventingv1.TriggerSpec{Filter: &eventingv1.TriggerFilter{Attributes: map[string]string{"type": "ORDER_PLACED", "subject": "o-2"}}}, false},
		"attributes without a type":         {eventingv1.TriggerSpec{Filter: &eventingv1.TriggerFilter{Attributes: map[string]string{"subject": "o-2"}}}, false},
		"filters, an exact other type":      {eventingv1.TriggerSpec{Filters: []eventingv1.SubscriptionsAPIFilter{exact("subject", "o-1"), exact("type", "STOCK_RESERVED")}}, true},
		"filters, any of two types":         {eventingv1.TriggerSpec{Filters: []eventingv1.SubscriptionsAPIFilter{{Any: []eventingv1.SubscriptionsAPIFilter{exact("type", "X"), exact("type", "Y")}}}}, false},
		"filters, not this type":            {eventingv1.TriggerSpec{Filters: []eventingv1.SubscriptionsAPIFilter{{Not: ptr(exact("type", "ORDER_PLACED"))}}}, false},
		"filters win over attributes' type": {eventingv1.TriggerSpec{Filter: &eventingv1.TriggerFilter{Attributes: map[string]string{"type": "X"}}, Filters: []eventingv1.SubscriptionsAPIFilter{exact("subject", "o-1")}}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newTriggerFilter(&eventingv1.Trigger{Spec: tc.spec})
			defer f.Close()
			if got := !f.mayPass(rec); got != tc.skip {
				t.Fatalf("skipped by the header: %v, want %v", got, tc.skip)
			}
			if tc.skip && f.Pass(t.Context(), e) {
				t.Fatal("skipped a record the filter passes")
			}
		})
	}
	noType := &kgo.Record{Headers: []kgo.RecordHeader{{Key: "ce_id", Value: []byte("1")}}}
	if !newTriggerFilter(&eventingv1.Trigger{Spec: tests["attributes, another type"].spec}).mayPass(noType) {
		t.Fatal("a record with no type header was skipped; it must reach decoding (which logs it)")
	}
}

func ptr[T any](v T) *T { return &v }
