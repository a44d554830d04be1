package functions

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/knshop/knshop/lib/fn"
)

// ErrNoFunctionName is returned when neither FUNCTION nor K_SERVICE is set.
var ErrNoFunctionName = errors.New("functions: neither FUNCTION nor K_SERVICE names a function")

// ErrUnknownFunction is returned for a name the registry does not hold.
var ErrUnknownFunction = errors.New("functions: unknown function")

// Name returns the function cfg asks for: FUNCTION, else K_SERVICE (the
// Knative Service's name).
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
func Select(registry map[string]Constructor, cfg map[string]string) (string, any, error) {
	name, err := Name(cfg)
	if err != nil {
		return "", nil, err
	}
	ctor, ok := registry[name]
	if !ok {
		return name, nil, fmt.Errorf("%w: no function %q (have %s)", ErrUnknownFunction, name, strings.Join(Names(registry), ", "))
	}
	return name, ctor(), nil
}

// Serve serves the one function cfg names from registry with the knshop
// runtime (fn.Serve: LISTEN_ADDRESS, else PORT, else :8080) until ctx is
// done or the process is told to stop. cmd/fn and `knshop fn` both run it.
func Serve(ctx context.Context, registry map[string]Constructor, cfg map[string]string) error {
	name, f, err := Select(registry, cfg)
	if err != nil {
		return fmt.Errorf("fn: %w", err)
	}
	return fn.Serve(ctx, name, f, cfg)
}

// Names lists registry's function names, sorted.
func Names(registry map[string]Constructor) []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
