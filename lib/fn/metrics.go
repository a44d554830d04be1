package fn

import (
	"net/http"
	"time"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/metrics"
)

// MetricsPath is where every function serves its metrics.
const MetricsPath = "/metrics"

// The runtime's metrics: every request and every event, by function.
var (
	httpRequests = metrics.NewCounterVec("http_requests_total",
		"function", "route", "method", "code")
	httpDuration = metrics.NewHistogramVec("http_request_duration_seconds",
		"function", "route")
	eventsHandled = metrics.NewCounterVec("events_handled_total",
		"function", "type", "outcome")
	eventDuration = metrics.NewHistogramVec("event_handle_duration_seconds",
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

// outcomeStatus is the HTTP answer of each outcome of a valid event.
var outcomeStatus = map[string]int{
	outcomeHandled:   http.StatusNoContent,
	outcomeReplied:   http.StatusOK,
	outcomePermanent: http.StatusBadRequest,
	outcomeRetry:     http.StatusInternalServerError,
}

// observeEvent records one event handled by function.
func observeEvent(function, eventType, outcome string, took time.Duration) {
	t := events.TypeLabel(eventType)
	eventsHandled.WithLabelValues(function, t, outcome).Inc()
	if outcome != outcomeInvalid {
		eventDuration.WithLabelValues(function, t).Update(took.Seconds())
	}
}

// methodLabel bounds the method label: a method HTTP does not define counts
// as "other", whatever a client sends.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
