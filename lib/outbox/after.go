package outbox

import (
	"context"
	"log/slog"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/sink"
)

// Publisher sends events a committed transaction stored in an outbox
// (SQL.Publish); it only logs a failure, the relay sends what is left.
type Publisher interface {
	Publish(ctx context.Context, evs ...event.Event)
}

// AfterCommit is what a store embeds to publish the events a change wrote
// to its outbox right after the change commits: the one way events leave a
// MySQL store. Without a publisher it publishes nothing, and relay-outbox
// sends them.
type AfterCommit struct{ pub Publisher }

// PublishWith makes the store publish with p after each commit.
func (a *AfterCommit) PublishWith(p Publisher) { a.pub = p }

// Published sends evs, which a transaction just committed, when the store
// has a publisher.
func (a *AfterCommit) Published(ctx context.Context, evs ...event.Event) {
	if a.pub != nil && len(evs) > 0 {
		a.pub.Publish(ctx, evs...)
	}
}

// sender is what both outboxes send with: the sink, the log, and where an
// event the Broker refuses for good is set aside (none: the relay stops at
// it).
type sender struct {
	sink     sink.Sender
	log      *slog.Logger
	setAside SetAside
}

// publishFast sends evs in order on the fast path, then marks the ones it
// sent with one call of markSent. It stops at the first failure and only
// logs it: the change is committed, and the relay sends what is left (and
// what was sent but not marked, again: consumers are idempotent). A caller
// going away does not stop it; the sink's own timeout bounds each send.
func (s sender) publishFast(ctx context.Context, evs []event.Event, markSent func(ctx context.Context, ids []string) error) {
	sent := make([]string, 0, len(evs))
	for _, e := range evs {
		if err := s.sink.Send(ctx, e); err != nil {
			sendFailures.WithLabelValues(pathFast).Inc()
			s.log.WarnContext(ctx, "outbox: publish failed; left for the relay",
				"event_id", e.ID(), "type", e.Type(), "err", err)
			break
		}
		sentTotal.WithLabelValues(pathFast).Inc()
		sent = append(sent, e.ID())
	}
	if len(sent) == 0 {
		return
	}
	if err := markSent(ctx, sent); err != nil {
		s.log.WarnContext(ctx, "outbox: events sent but not marked; the relay may send them again",
			"event_ids", sent, "err", err)
	}
}
