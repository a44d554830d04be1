package fn

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
)

// A function opens what it needs (its store, a client) in Start and hands
// each to the runtime with Use: the runtime pings it for readiness (when it
// has Ping(ctx) error) and closes it when the function stops, last opened
// first. So a function holds its stores as plain fields and writes no Stop
// or Ready of its own for them:
//
//	func (f *Function) Start(ctx context.Context, cfg map[string]string) (err error) {
//		f.store, err = orderstore.OpenFrom(ctx, cfg)
//		return fn.Use(ctx, f.store, err)
//	}
//
// r must have Close() error or Close(context.Context) error.

// ErrNoRuntime is Use's error outside a Start the runtime called.
var ErrNoRuntime = errors.New("fn: Use outside a Start called by the runtime (fn.Instance)")

type resources struct {
	mu   sync.Mutex
	list []kept
}

type kept struct {
	name  string
	ping  func(context.Context) error
	close func(context.Context) error
}

type resourcesKey struct{}

func withResources(ctx context.Context, r *resources) context.Context {
	return context.WithValue(ctx, resourcesKey{}, r)
}

// Use keeps r for the function being started (see above); err, the error of
// opening r, is returned as it is and nothing is kept. A nil r is ignored.
func Use(ctx context.Context, r any, err error) error {
	if err != nil {
		return err
	}
	held, ok := ctx.Value(resourcesKey{}).(*resources)
	if !ok {
		return ErrNoRuntime
	}
	if isNil(r) {
		return nil
	}
	res := kept{name: fmt.Sprintf("%T", r)}
	switch c := r.(type) {
	case interface{ Close(context.Context) error }:
		res.close = c.Close
	case interface{ Close() error }:
		res.close = func(context.Context) error { return c.Close() }
	default:
		return fmt.Errorf("fn: Use: %T has no Close", r)
	}
	if p, ok := r.(interface{ Ping(context.Context) error }); ok {
		res.ping = p.Ping
	}
	held.mu.Lock()
	defer held.mu.Unlock()
	held.list = append(held.list, res)
	return nil
}

func isNil(r any) bool {
	if r == nil {
		return true
	}
	v := reflect.ValueOf(r)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// ping reports the first resource that does not answer.
func (h *resources) ping(ctx context.Context) error {
	h.mu.Lock()
	list := slices.Clone(h.list)
	h.mu.Unlock()
	for _, r := range list {
		if r.ping == nil {
			continue
		}
		if err := r.ping(ctx); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
	}
	return nil
}

// close closes every resource, last kept first, and forgets them.
func (h *resources) close(ctx context.Context) error {
	h.mu.Lock()
	list := h.list
	h.list = nil
	h.mu.Unlock()
	var errs []error
	for i := len(list) - 1; i >= 0; i-- {
		if err := list[i].close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", list[i].name, err))
		}
	}
	return errors.Join(errs...)
}

// Keep runs start with a context in which Use keeps what it opens, as the
// runtime's Start does, and returns a func that closes all of it (last kept
// first). When start fails, what it kept is closed at once. For tests and
// tools that start a function's parts without an Instance.
func Keep(ctx context.Context, start func(ctx context.Context) error) (closeAll func(context.Context) error, err error) {
	held := &resources{}
	if err := start(withResources(ctx, held)); err != nil {
		return nil, errors.Join(err, held.close(context.WithoutCancel(ctx)))
	}
	return held.close, nil
}
