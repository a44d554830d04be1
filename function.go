// Package function is knshop's root Knative Function. `func build` and
// `func deploy` turn it into the one image every knshop function runs from:
// at Start it becomes the function named by FUNCTION (or, failing that,
// K_SERVICE, the Knative Service's name) from the functions registry, and
// Handle serves that function through knshop's runtime adapter.
package function

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/knshop/knshop/functions"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
)

// ErrNoFunctionName is returned when neither FUNCTION nor K_SERVICE is set.
var ErrNoFunctionName = errors.New("function: neither FUNCTION nor K_SERVICE names a function")

// ErrUnknownFunction is returned for a name the registry does not hold.
var ErrUnknownFunction = errors.New("function: unknown function")

// ErrNotStarted is what Handle reports before Start has selected a function.
var ErrNotStarted = errors.New("function: not started")

// Name returns the function cfg asks for: FUNCTION, else K_SERVICE.
func Name(cfg map[string]string) (string, error) {
	if n := cfg["FUNCTION"]; n != "" {
		return n, nil
	}
	if n := cfg["K_SERVICE"]; n != "" {
		return n, nil
	}
	return "", ErrNoFunctionName
}

// Select builds, unstarted, the function cfg names from registry.
func Select(registry map[string]functions.Constructor, cfg map[string]string) (string, any, error) {
	name, err := Name(cfg)
	if err != nil {
		return "", nil, err
	}
	ctor, ok := registry[name]
	if !ok {
		return name, nil, fmt.Errorf("%w: %q", ErrUnknownFunction, name)
	}
	return name, ctor(), nil
}

// Function is the root function: a shell around the knshop function chosen
// at Start.
type Function struct {
	registry map[string]functions.Constructor
	current  atomic.Pointer[selected]
}

// selected is the function Start chose and the handler that serves it.
type selected struct {
	name    string
	f       any
	handler http.Handler
}

// New returns the root function over the registry functions.All.
func New() *Function { return &Function{registry: functions.All} }

// Start selects the function named in cfg and starts it with cfg.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	name, inner, err := Select(f.registry, cfg)
	if err != nil {
		return fmt.Errorf("function: start: %w", err)
	}
	h, err := fn.Handler(inner)
	if err != nil {
		return fmt.Errorf("function: start %s: %w", name, err)
	}
	if s, ok := inner.(fn.Starter); ok {
		if err := s.Start(fn.WithLogger(ctx, fn.Logger(ctx).With("function", name)), cfg); err != nil {
			return fmt.Errorf("function: start %s: %w", name, err)
		}
	}
	f.current.Store(&selected{name: name, f: inner, handler: h})
	return nil
}

// Handle serves one request with the selected function: an HTTP function
// directly, an event function through the CloudEvents HTTP binding. Before
// Start it answers 503.
func (f *Function) Handle(w http.ResponseWriter, r *http.Request) {
	s := f.current.Load()
	if s == nil {
		httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusServiceUnavailable, "unavailable", ErrNotStarted.Error()))
		return
	}
	s.handler.ServeHTTP(w, r)
}

// Stop stops the selected function, if it has a Stop hook.
func (f *Function) Stop(ctx context.Context) error {
	s := f.current.Load()
	if s == nil {
		return nil
	}
	if st, ok := s.f.(fn.Stopper); ok {
		if err := st.Stop(ctx); err != nil {
			return fmt.Errorf("function: stop %s: %w", s.name, err)
		}
	}
	return nil
}

// Ready reports whether the selected function can take traffic; false
// before Start.
func (f *Function) Ready(ctx context.Context) (bool, error) {
	s := f.current.Load()
	if s == nil {
		return false, nil
	}
	if r, ok := s.f.(fn.ReadinessReporter); ok {
		return r.Ready(ctx)
	}
	return true, nil
}

// Alive reports whether the selected function is healthy. Before Start the
// process is alive: it is waiting to be started, not broken.
func (f *Function) Alive(ctx context.Context) (bool, error) {
	s := f.current.Load()
	if s == nil {
		return true, nil
	}
	if l, ok := s.f.(fn.LivenessReporter); ok {
		return l.Alive(ctx)
	}
	return true, nil
}

// Name is the name of the selected function, empty before Start.
func (f *Function) Name() string {
	if s := f.current.Load(); s != nil {
		return s.name
	}
	return ""
}
