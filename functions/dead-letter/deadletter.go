// Package deadletter is the dead-letter function, the Broker's
// deadLetterSink: it stores every event it receives, with the
// knativeerror* extensions Knative added, in the operations database, once
// per event and failing subscriber. The admin routes list and replay them.
package deadletter

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/deadletter"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/metrics"
	"github.com/knshop/knshop/lib/opsdb"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/timeline"
)

// Name is the function's name.
const Name = "dead-letter"

// New returns an unstarted dead-letter function: it opens the operations
// database (MYSQL_DSN, KNSHOP_SERIALIZE_DB).
func New() *fn.Reaction[*deadletter.Store] {
	return fn.OnEvent(sqlstore.From(opsdb.Database, deadletter.Open), keep)
}

// deadLetters counts the letters stored (a redelivered letter once).
var deadLetters = metrics.NewCounterVec("dead_letters_total",
	"type")

// keep stores e and answers no reply. Any valid CloudEvent is taken,
// whatever its type: a failure to store it is retried by the Broker.
func keep(ctx context.Context, s *deadletter.Store, e event.Event) (*event.Event, error) {
	l := deadletter.LetterFrom(e, time.Now())
	added, err := s.Add(ctx, l)
	if err != nil {
		return nil, fmt.Errorf("deadletter: %w", err)
	}
	if added {
		deadLetters.WithLabelValues(events.TypeLabel(e.Type())).Inc()
	}
	if key := timeline.OrderKey(e); key != "" {
		timeline.Report(ctx, timeline.Entry{
			ID: timeline.NewID(timeline.KindDeadLetter), OrderID: key, At: l.ReceivedAt, Kind: timeline.KindDeadLetter,
			Type: e.Type(), EventID: e.ID(), Source: e.Source(),
			Detail: map[string]any{"letterId": l.ID, "errorCode": l.ErrorCode, "errorDest": l.ErrorDest},
		})
	}
	// The error data is the failing subscriber's answer body: it stays in
	// the store, out of the log.
	fn.Logger(ctx).WarnContext(ctx, "event dead-lettered", "letter_id", l.ID, "type", e.Type(),
		"source", e.Source(), "error_dest", l.ErrorDest, "error_code", l.ErrorCode, "new", added)
	return nil, nil
}
