// Package function is knshop's root Knative Function. `func build` and
// `func deploy` turn it into an image of every knshop function: at Start it
// becomes the function named by FUNCTION (or, failing that, K_SERVICE, the
// Knative Service's name) from the functions registry, and serves it
// through the same runtime as cmd/fn (fn.Instance: the health routes,
// request logs at LOG_LEVEL, problem+json errors, panic recovery).
package function

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"

	"github.com/knshop/knshop/functions"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
)

// ErrNotStarted is what Handle reports before Start has selected a function.
var ErrNotStarted = errors.New("function: not started")

// Function is the root function: a shell around the knshop function chosen
// at Start.
type Function struct {
	registry map[string]functions.Constructor
	current  atomic.Pointer[fn.Instance]
}

// New returns the root function over the registry functions.All.
func New() *Function { return &Function{registry: functions.All} }

// Start selects the function named in cfg and starts it with cfg.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	name, inner, err := functions.Select(f.registry, cfg)
	if err != nil {
		return fmt.Errorf("function: start: %w", err)
	}
	inst, err := fn.NewInstance(name, inner, fn.NewLogger(os.Stderr, cfg))
	if err != nil {
		return fmt.Errorf("function: start: %w", err)
	}
	if err := inst.Start(ctx, cfg); err != nil {
		return fmt.Errorf("function: %w", err)
	}
	f.current.Store(inst)
	return nil
}

// Handle serves one request with the selected function: an HTTP function
// directly, an event function through the CloudEvents HTTP binding. Before
// Start it answers 503.
func (f *Function) Handle(w http.ResponseWriter, r *http.Request) {
	inst := f.current.Load()
	if inst == nil {
		httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusServiceUnavailable, "unavailable", ErrNotStarted.Error()))
		return
	}
	inst.ServeHTTP(w, r)
}

// Stop stops the selected function.
func (f *Function) Stop(ctx context.Context) error {
	if inst := f.current.Load(); inst != nil {
		return inst.Stop(ctx)
	}
	return nil
}

// Ready reports whether the selected function can take traffic; false
// before Start.
func (f *Function) Ready(ctx context.Context) (bool, error) {
	if inst := f.current.Load(); inst != nil {
		return inst.Ready(ctx)
	}
	return false, nil
}

// Alive reports whether the selected function is healthy. Before Start the
// process is alive: it is waiting to be started, not broken.
func (f *Function) Alive(ctx context.Context) (bool, error) {
	if inst := f.current.Load(); inst != nil {
		return inst.Alive(ctx)
	}
	return true, nil
}

// Name is the name of the selected function, empty before Start.
func (f *Function) Name() string {
	if inst := f.current.Load(); inst != nil {
		return inst.Name()
	}
	return ""
}
