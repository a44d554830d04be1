package outbox

import "github.com/knshop/knshop/lib/metrics"

// Paths an event takes out of an outbox, the values of the path label.
const (
	pathFast  = "fast"  // Publish, right after the commit
	pathRelay = "relay" // Relay, for what the fast path left
)

var (
	sentTotal = metrics.NewCounterVec("outbox_sent_total",
		"Events sent from an outbox to the Broker, by path: fast (right after the commit) or relay (left behind by the fast path, sent by relay-outbox).",
		"path")
	sendFailures = metrics.NewCounterVec("outbox_send_failures_total",
		"Sends from an outbox that failed, by path; a failed event stays in the outbox for the relay.",
		"path")
	setAsideTotal = metrics.NewCounterVec("outbox_set_aside_total",
		"Events the Broker refused for good (4xx) that the relay set aside into the dead letters instead of blocking the outbox.")
)
