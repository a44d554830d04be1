package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/storetest"
)

// TestOneOrderIsOneTrace: with an OTLP endpoint set, every function
// exports its spans, and the spans of one order, from the POST through
// every saga reaction, share one trace id.
func TestOneOrderIsOneTrace(t *testing.T) {
	recv := storetest.NewOTLPReceiver(t)
	s := startShop(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.Endpoint(), "OTEL_BSP_SCHEDULE_DELAY": "50"})
	_, customer, product := s.market("trace.test", "traced mug", 1200, 5)
	id := placeEventually(t, s, customer, product, 1, "pm_card_visa")
	s.waitOrder(customer, id, "COMPLETED")

	// The accepted POST is the root of the order's trace.
	var trace string
	recv.WaitFor(t, 30*time.Second, func(spans []storetest.Span) bool {
		for _, sp := range spans {
			if sp.Service == "orders" && sp.Name == "POST /api/orders" && sp.Attributes["url.path"] == "/api/orders" {
				trace = sp.TraceID
			}
		}
		return trace != ""
	})
	want := []string{"orders", "reserve-stock", "charge-payment", "start-delivery", "track-order", "complete-order"}
	t.Cleanup(func() {
		if t.Failed() {
			byTrace := map[string][]string{}
			for _, sp := range recv.Spans() {
				byTrace[sp.TraceID] = append(byTrace[sp.TraceID], sp.Service+":"+sp.Name)
			}
			t.Logf("order trace %s; spans by trace: %v", trace, byTrace)
		}
	})
	// Every service takes part, and every span of the trace but the root
	// has its parent in the trace (spans arrive in batches: wait for all).
	parentless := func(spans []storetest.Span) []string {
		ids := map[string]bool{}
		for _, sp := range spans {
			if sp.TraceID == trace {
				ids[sp.SpanID] = true
			}
		}
		var out []string
		for _, sp := range spans {
			if sp.TraceID == trace && sp.ParentSpanID != "" && !ids[sp.ParentSpanID] {
				out = append(out, sp.Service+"/"+sp.Name)
			}
		}
		return out
	}
	spans := recv.WaitFor(t, 30*time.Second, func(spans []storetest.Span) bool {
		services := servicesIn(spans, trace)
		for _, w := range want {
			if !slices.Contains(services, w) {
				return false
			}
		}
		return len(parentless(spans)) == 0
	})
	t.Logf("order %s: trace %s spans %d functions: %v", id, trace, len(servicesIn(spans, trace)), servicesIn(spans, trace))
}

func servicesIn(spans []storetest.Span, trace string) []string {
	var out []string
	for _, sp := range spans {
		if sp.TraceID == trace && !slices.Contains(out, sp.Service) {
			out = append(out, sp.Service)
		}
	}
	slices.Sort(out)
	return out
}

// TestMetricsMoveWithTheSaga scrapes reserve-stock's and orders' /metrics
// on their own ports, parses them with the Prometheus text parser, and
// finds the counters moved by one order.
func TestMetricsMoveWithTheSaga(t *testing.T) {
	s := startShop(t, nil)
	_, customer, product := s.market("metrics.test", "counted mug", 900, 5)
	reserved := map[string]string{"function": "reserve-stock", "type": "ORDER_PLACED", "outcome": "replied"}
	placed := map[string]string{"function": "orders", "route": "POST /api/orders", "code": "202"}
	before := storetest.MetricsAt(t, s.stack.Functions["reserve-stock"])
	id := placeEventually(t, s, customer, product, 1, "pm_card_visa")
	s.waitOrder(customer, id, "COMPLETED")
	after := storetest.MetricsAt(t, s.stack.Functions["reserve-stock"])
	if d := storetest.MetricValue(after, "knshop_events_handled_total", reserved) - storetest.MetricValue(before, "knshop_events_handled_total", reserved); d < 1 {
		for _, m := range after["knshop_events_handled_total"].GetMetric() {
			t.Log(m.String())
		}
		t.Errorf("knshop_events_handled_total%v moved by %v, want at least 1", reserved, d)
	}
	if d := storetest.MetricValue(after, "knshop_event_handle_duration_seconds", map[string]string{"function": "reserve-stock", "type": "ORDER_PLACED"}) -
		storetest.MetricValue(before, "knshop_event_handle_duration_seconds", map[string]string{"function": "reserve-stock", "type": "ORDER_PLACED"}); d < 1 {
		t.Errorf("reserve-stock's latency histogram count moved by %v", d)
	}
	// The orders function's port shows its requests by route pattern.
	ordersMetrics := storetest.MetricsAt(t, s.stack.Functions["orders"])
	if v := storetest.MetricValue(ordersMetrics, "knshop_http_requests_total", placed); v < 1 {
		t.Errorf("knshop_http_requests_total%v = %v, want at least 1", placed, v)
	}
	if v := storetest.MetricValue(ordersMetrics, "knshop_outbox_sent_total", map[string]string{"path": "fast"}); v < 1 {
		t.Errorf("knshop_outbox_sent_total{path=fast} = %v", v)
	}
}

// timelineEntry is one line of GET /api/admin/orders/{id}/timeline.
type timelineEntry struct {
	kind, typ, eventID, function string
	status, attempt              float64
	detail                       map[string]any
}

func (s *shop) timeline(admin, id string) []timelineEntry {
	s.t.Helper()
	out := s.must(200, "GET", "/api/admin/orders/"+id+"/timeline", admin, nil)
	if out["orderId"] != id {
		s.t.Fatalf("timeline of %s answers orderId %v", id, out["orderId"])
	}
	var entries []timelineEntry
	for _, raw := range out["entries"].([]any) {
		m := raw.(map[string]any)
		d, _ := m["detail"].(map[string]any)
		e := timelineEntry{kind: m["kind"].(string), typ: m["type"].(string), eventID: m["eventId"].(string), detail: d}
		e.function, _ = d["function"].(string)
		e.status, _ = d["status"].(float64)
		e.attempt, _ = d["attempt"].(float64)
		entries = append(entries, e)
	}
	return entries
}

// TestOrderTimeline: an order's timeline lists its saga's events in order,
// each with its deliveries to the functions that react to it.
func TestOrderTimeline(t *testing.T) {
	s := startShop(t, nil)
	admin := s.login(adminEmail, adminPassword)
	_, customer, product := s.market("timeline.test", "chronicled mug", 1500, 5)
	id := placeEventually(t, s, customer, product, 1, "pm_card_visa")
	s.waitOrder(customer, id, "COMPLETED")

	saga := []string{"ORDER_PLACED", "STOCK_RESERVED", "PAYMENT_ADDED", "PAYMENT_SUCCESS", "DELIVERY_STARTED", "DELIVERY_COURIERED_PARTNER", "DELIVERY_COMPLETED", "ORDER_COMPLETED"}
	deliveries := map[string][]string{
		"ORDER_PLACED":               {"reserve-stock"},
		"STOCK_RESERVED":             {"charge-payment", "confirm-order"},
		"PAYMENT_SUCCESS":            {"confirm-order", "start-delivery"},
		"DELIVERY_STARTED":           {"track-order"},
		"DELIVERY_COURIERED_PARTNER": {"track-order"},
		"DELIVERY_COMPLETED":         {"complete-order"},
	}
	var entries []timelineEntry
	eventually(t, "the timeline holds the whole saga", func() string {
		if code, _ := s.call("GET", "/api/admin/orders/"+id+"/timeline", admin, nil); code != 200 {
			return fmt.Sprintf("timeline answers %d", code)
		}
		entries = s.timeline(admin, id)
		var events []string
		for _, e := range entries {
			if e.kind == "event" {
				events = append(events, e.typ)
			}
		}
		if !slices.Equal(events, saga) {
			return fmt.Sprintf("events %v, want %v", events, saga)
		}
		for typ, fns := range deliveries {
			for _, f := range fns {
				if !slices.ContainsFunc(entries, func(e timelineEntry) bool {
					return e.kind == "delivery" && e.typ == typ && e.function == f && e.status < 300 && e.attempt == 1
				}) {
					return fmt.Sprintf("no successful delivery of %s to %s", typ, f)
				}
			}
		}
		return ""
	})
	// Every delivery comes after the event it delivers.
	seen := map[string]bool{}
	for _, e := range entries {
		switch e.kind {
		case "event":
			seen[e.eventID] = true
		case "delivery":
			if !seen[e.eventID] {
				t.Errorf("delivery of %s to %s listed before its event", e.typ, e.function)
			}
		}
	}

	if code, _ := s.call("GET", "/api/admin/orders/no-such-order/timeline", admin, nil); code != 404 {
		t.Errorf("timeline of an unknown order = %d, want 404", code)
	}
	if code, _ := s.call("GET", "/api/admin/orders/"+id+"/timeline", customer, nil); code != 403 {
		t.Errorf("timeline for a customer = %d, want 403", code)
	}
}
