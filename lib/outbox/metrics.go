package outbox

import "github.com/knshop/knshop/lib/metrics"

// Paths an event takes out of an outbox, the values of the path label.
const (
	pathFast  = "fast"  // Publish, right after the commit
	pathRelay = "relay" // Relay, for what the fast path left
)

var (
	sentTotal = metrics.NewCounterVec("outbox_sent_total",
		"path")
	sendFailures = metrics.NewCounterVec("outbox_send_failures_total",
		"path")
	setAsideTotal = metrics.NewCounterVec("outbox_set_aside_total")
)
