package mongostore

import (
	"context"
	"sync"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/knshop/knshop/lib/metrics"
)

// commandDuration times every command a knshop client sends, by database,
// collection and command: how many round trips each step costs and what
// they take (docs/operations.md). It is how a storm of lookups under load
// shows without a profiler.
var commandDuration = metrics.NewHistogramVec("mongodb_command_duration_seconds", "database", "collection", "command", "outcome")

// commandMonitor feeds commandDuration. The collection is only in the
// started event, so it is kept by request id until the command ends.
type commandMonitor struct {
	collections sync.Map // request id → collection
}

func (m *commandMonitor) started(_ context.Context, e *event.CommandStartedEvent) {
	coll := ""
	if v, err := e.Command.LookupErr(e.CommandName); err == nil {
		coll, _ = v.StringValueOK() // find, insert, update, delete, …: the collection; ping, hello: a number
	}
	m.collections.Store(e.RequestID, coll)
}

func (m *commandMonitor) ended(e event.CommandFinishedEvent, outcome string) {
	coll, _ := m.collections.LoadAndDelete(e.RequestID)
	name, _ := coll.(string)
	commandDuration.WithLabelValues(e.DatabaseName, name, e.CommandName, outcome).Update(e.Duration.Seconds())
}

// monitored adds the command monitor to opts.
func monitored(opts *options.ClientOptions) *options.ClientOptions {
	m := &commandMonitor{}
	return opts.SetMonitor(&event.CommandMonitor{
		Started:   m.started,
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) { m.ended(e.CommandFinishedEvent, "ok") },
		Failed:    func(_ context.Context, e *event.CommandFailedEvent) { m.ended(e.CommandFinishedEvent, "error") },
	})
}
