// Package outbox keeps a write and the events it causes together: the events
// are stored with the change (in the same MySQL transaction, or in the same
// MongoDB single-document update), sent to the Broker right after the
// commit, and marked sent. What a crash or a down Broker leaves behind is
// sent later by Relay, oldest first. An event may be sent twice; it is never
// lost.
package outbox

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
)

// ErrInvalidEvent is returned for an event that is not a valid CloudEvent;
// storing it would only fail later, in the relay.
var ErrInvalidEvent = errors.New("outbox: invalid event")

// encode returns e in the structured JSON format, after validating it.
func encode(e event.Event) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidEvent, e.ID(), err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidEvent, e.ID(), err)
	}
	return b, nil
}

// decode reads an event stored by encode.
func decode(b []byte) (event.Event, error) {
	var e event.Event
	if err := json.Unmarshal(b, &e); err != nil {
		return event.Event{}, fmt.Errorf("outbox: decode stored event: %w", err)
	}
	return e, nil
}
