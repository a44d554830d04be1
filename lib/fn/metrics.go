package fn

import (
	"time"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/metrics"
)

// MetricsPath is where every function serves its metrics.
const MetricsPath = "/metrics"

// The runtime's metrics: every request and every event, by function.
var (
	httpRequests = metrics.NewCounterVec("http_requests_total",
		"HTTP requests served, by function, route pattern, method and status code.",
		"function", "route", "method", "code")
	httpDuration = metrics.NewHistogramVec("http_request_duration_seconds",
		"Time to answer an HTTP request, by function and route pattern.",
		"function", "route")
	eventsHandled = metrics.NewCounterVec("events_handled_total",
		"CloudEvents handled, by function, event type and outcome: handled (2xx), replied (2xx with a reply event), permanent (400, not retried), retry (500, the Broker retries), invalid (not a valid CloudEvent).",
		"function", "type", "outcome")
	eventDuration = metrics.NewHistogramVec("event_handle_duration_seconds",
		"Time to handle one CloudEvent, by function and event type.",
		"function", "type")
)

// Event outcomes, the values of events_handled_total's outcome label.
const (
	outcomeHandled   = "handled"
	outcomeReplied   = "replied"
	outcomePermanent = "permanent"
	outcomeRetry     = "retry"
	outcomeInvalid   = "invalid"
)

// observeEvent records one event handled by function.
func observeEvent(function, eventType, outcome string, took time.Duration) {
	t := events.TypeLabel(eventType)
	eventsHandled.WithLabelValues(function, t, outcome).Inc()
	if outcome != outcomeInvalid {
		eventDuration.WithLabelValues(function, t).Observe(took.Seconds())
	}
}
