package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/sink"
)

// SetAside takes an event the Broker refused for good (a 4xx answer: it
// will refuse it whatever the retry), so the relay can go on with the next
// instead of being blocked behind it. relay-outbox hands such events to the
// dead letters, where an admin sees them and can replay them.
type SetAside func(ctx context.Context, e event.Event, refusal *sink.StatusError) error

// refusedForGood reports the refusal of err when it is a 4xx from the sink.
func refusedForGood(err error) (*sink.StatusError, bool) {
	var se *sink.StatusError
	if errors.As(err, &se) && se.Code >= 400 && se.Code < 500 {
		return se, true
	}
	return nil, false
}

// sendOrSetAside sends e; an event refused for good goes to setAside when
// there is one, with a warning on log (setAsideDone reports it). Any other
// failure is returned.
func (s sender) sendOrSetAside(ctx context.Context, e event.Event) (setAsideDone bool, err error) {
	err = s.sink.Send(ctx, e)
	if err == nil {
		sentTotal.WithLabelValues(pathRelay).Inc()
		return false, nil
	}
	sendFailures.WithLabelValues(pathRelay).Inc()
	refusal, ok := refusedForGood(err)
	if !ok || s.setAside == nil {
		return false, err
	}
	if serr := s.setAside(ctx, e, refusal); serr != nil {
		return false, fmt.Errorf("%w (and setting it aside failed: %v)", err, serr)
	}
	setAsideTotal.WithLabelValues().Inc()
	s.log.WarnContext(ctx, "outbox: the Broker refuses this event for good; set aside", "event_id", e.ID(), "type", e.Type())
	return true, nil
}
