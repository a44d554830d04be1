package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/knshop/knshop/functions"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/gateway"
)

func (s *Stack) startFunction(ctx context.Context, name string, cfg map[string]string, ln net.Listener, log *slog.Logger) error {
	inst, err := fn.NewInstance(name, functions.All[name](), log)
	if err != nil {
		return err
	}
	fcfg := make(map[string]string, len(cfg)+2)
	for k, v := range cfg {
		fcfg[k] = v
	}
	fcfg["FUNCTION"], fcfg["K_SERVICE"] = name, name
	if err := inst.Start(ctx, fcfg); err != nil {
		return err
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		if err := inst.ServeListener(fctx, ln); err != nil {
			s.log.Error("function stopped", "function", name, "error", err)
		}
	}()
	s.closers = append(s.closers, func() error { cancel(); <-done; return nil })
	return nil
}

func (s *Stack) startGateway(o Options) error {
	// target is the base URL of a running function; a function not written
	// yet leaves its routes answering 404.
	target := func(name string) (*url.URL, bool, error) {
		base, ok := s.Functions[name]
		if !ok {
			return nil, false, nil
		}
		u, err := url.Parse(base)
		if err != nil {
			return nil, false, fmt.Errorf("devstack: %w", err)
		}
		return u, true, nil
	}
	routes := gateway.Routes{Areas: map[string]*url.URL{}}
	for area, name := range functions.Areas {
		u, ok, err := target(name)
		if err != nil {
			return err
		}
		if ok {
			routes.Areas[area] = u
		}
	}
	for _, n := range functions.NestedRoutes {
		u, ok, err := target(n.Function)
		if err != nil {
			return err
		}
		if ok {
			routes.Nested = append(routes.Nested, gateway.Nested{Area: n.Area, Leaf: n.Leaf, Target: u})
		}
	}
	root, _, err := target(functions.Root)
	if err != nil {
		return err
	}
	routes.Root = root
	g, err := gateway.New(routes, s.log.With("part", "gateway"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.GatewayAddr)
	if err != nil {
		return fmt.Errorf("devstack: gateway: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	s.GatewayURL = fmt.Sprintf("http://localhost:%d", addr.Port)
	s.serve("gateway", ln, g)
	s.Parts = append(s.Parts, Part{"gateway", s.GatewayURL, "/api/<area> → the HTTP functions; / → the storefront"})
	return nil
}

// startTimer calls the timer function name every period, as the cluster's
// PingSource does.
func (s *Stack) startTimer(ctx context.Context, name, note string, every time.Duration) {
	target, ok := s.Functions[name]
	if !ok {
		return
	}
	s.Parts = append(s.Parts, Part{"timer", target, note + " every " + every.String()})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := ping(ctx, name, target); err != nil {
					s.log.Warn("timer function failed", "function", name, "error", err)
				}
			}
		}
	}()
}

// Relay runs the outbox relay once now, as one PingSource tick would.
func (s *Stack) Relay(ctx context.Context) error {
	return s.Tick(ctx, "relay-outbox")
}

// Tick runs the timer function name once now, as one PingSource tick would.
func (s *Stack) Tick(ctx context.Context, name string) error {
	target, ok := s.Functions[name]
	if !ok {
		return fmt.Errorf("devstack: %s is not running", name)
	}
	return ping(ctx, name, target)
}

func ping(ctx context.Context, name, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(`{}`))
	if err != nil {
		return err
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	for k, v := range map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": base64.RawURLEncoding.EncodeToString(id),
		"Ce-Type": "dev.knative.sources.ping", "Ce-Source": "/apis/v1/namespaces/knshop/pingsources/" + name,
		"Content-Type": "application/json",
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("devstack: %s: %w", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("devstack: %s answered %d", name, resp.StatusCode)
	}
	return nil
}

func (s *Stack) serve(name string, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server stopped", "part", name, "error", err)
		}
	}()
	s.closers = append(s.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	})
}

// SetIngressDown makes the Broker ingress refuse every event (503) while
// down is true, as an unreachable Broker would: tests use it to leave events
// in the outboxes, as a crash between a commit and its publish does.
func (s *Stack) SetIngressDown(down bool) { s.ingressDown.Store(down) }

// Close stops everything, last started first.
func (s *Stack) Close() error {
	s.cancel()
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	s.wg.Wait()
	return errors.Join(errs...)
}
