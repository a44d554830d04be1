package broker

import (
	"net/http"
	"slices"
	"testing"
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
