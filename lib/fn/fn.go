// Package fn is knshop's function runtime. It serves a function written to
// the instanced contract of the Knative Functions Go templates: a struct
// with Handle, built by New, with optional Start, Stop, Ready and Alive
// hooks found by type assertion. It adds the health routes, structured
// logs, graceful shutdown and the status codes Knative expects.
package fn

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"
)

// HTTPFunction handles plain HTTP requests.
type HTTPFunction interface {
	Handle(w http.ResponseWriter, r *http.Request)
}

// EventFunction handles one CloudEvent and may answer with a reply event,
// which the Broker publishes.
type EventFunction interface {
	Handle(ctx context.Context, e event.Event) (*event.Event, error)
}

// Starter is a function that needs configuration before it serves. cfg is
// the process environment (plus what the local runner sets).
type Starter interface {
	Start(ctx context.Context, cfg map[string]string) error
}

// Stopper is a function that releases resources at shutdown.
type Stopper interface {
	Stop(ctx context.Context) error
}

// ReadinessReporter is a function that can tell whether it can take traffic.
type ReadinessReporter interface {
	Ready(ctx context.Context) (bool, error)
}

// LivenessReporter is a function that can tell whether it is healthy.
type LivenessReporter interface {
	Alive(ctx context.Context) (bool, error)
}

// ErrNotAFunction is returned for a value that has neither Handle signature.
var ErrNotAFunction = errors.New("fn: value is neither an HTTP nor an event function")

// Permanent marks err as one that retrying cannot fix: an event function
// returning it answers 400 and the Broker does not redeliver.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (p permanentError) Error() string   { return p.err.Error() }
func (p permanentError) Unwrap() error   { return p.err }
func (p permanentError) Permanent() bool { return true }

// PermanentIf marks err permanent when it is one of targets (errors.Is):
// how a function says which of its store's errors no retry can change.
func PermanentIf(err error, targets ...error) error {
	for _, t := range targets {
		if errors.Is(err, t) {
			return Permanent(err)
		}
	}
	return err
}

// IsPermanent reports whether any error in err's chain says it is permanent
// (has a Permanent() bool method returning true).
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// kind checks f, served under name, against the two contracts.
func kind(name string, f any) (http.Handler, error) {
	switch h := f.(type) {
	case HTTPFunction:
		return http.HandlerFunc(h.Handle), nil
	case EventFunction:
		return eventHandler{f: h, name: name}, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrNotAFunction, f)
}
