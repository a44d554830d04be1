package outbox

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
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
