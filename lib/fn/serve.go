package fn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/metrics"
	"github.com/knshop/knshop/lib/timeline"
)

// TimelineFunction is the function that records the timeline: its own
// deliveries are not reported to it.
const TimelineFunction = "timeline"

// Health routes every function serves.
const (
	ReadinessPath = "/health/readiness"
	LivenessPath  = "/health/liveness"
)

// Instance is one function being served: its handler behind the health
// routes, request logging and panic recovery.
type Instance struct {
	name    string
	f       any
	handler http.Handler
	log     *slog.Logger
	tracing tracing
	// reporter sends the deliveries of events to the timeline, when
	// KNSHOP_TIMELINE_URL names it; nil otherwise.
	reporter *timeline.Reporter
	started  atomic.Bool
	stopped  atomic.Bool
	// res holds what the function kept with Use in its Start.
	res resources
}

// NewInstance wraps f, an HTTP or event function, for serving under name.
// It is the one single-function server: cmd/fn, `knshop fn`, the root
// function that `func build` wraps, and the local stack all serve through
// an Instance.
func NewInstance(name string, f any, log *slog.Logger) (*Instance, error) {
	h, err := kind(name, f)
	if err != nil {
		return nil, fmt.Errorf("fn: serve %s: %w", name, err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Instance{name: name, f: f, handler: h, log: log.With("function", name), tracing: noTracing}, nil
}

// Handler adapts f, an HTTP or event function, to an http.Handler with the
// health routes. The caller starts and stops f itself.
func Handler(f any) (http.Handler, error) {
	i, err := NewInstance(fmt.Sprintf("%T", f), f, nil)
	if err != nil {
		return nil, err
	}
	i.started.Store(true)
	return i, nil
}

// Start sets up tracing from cfg's OpenTelemetry variables and calls the
// function's Start hook, if it has one, with cfg.
func (i *Instance) Start(ctx context.Context, cfg map[string]string) error {
	t, err := newTracing(i.name, cfg)
	if err != nil {
		return fmt.Errorf("fn: start %s: %w", i.name, err)
	}
	i.tracing = t
	if i.name != TimelineFunction {
		i.reporter = timeline.NewReporter(cfg[timeline.URLKey], i.name, i.log)
	}
	if s, ok := i.f.(Starter); ok {
		sctx := withResources(timeline.WithReporter(WithLogger(ctx, i.log), i.reporter), &i.res)
		if err := s.Start(sctx, cfg); err != nil {
			// What it opened before failing is closed now.
			return errors.Join(fmt.Errorf("fn: start %s: %w", i.name, err), i.res.close(context.WithoutCancel(ctx)))
		}
	}
	i.started.Store(true)
	return nil
}

// Stop marks the instance not ready, calls the function's Stop hook, closes
// what the function kept with Use and flushes the spans not yet exported.
func (i *Instance) Stop(ctx context.Context) error {
	i.stopped.Store(true)
	var err error
	if s, ok := i.f.(Stopper); ok {
		err = s.Stop(WithLogger(ctx, i.log))
	}
	err = errors.Join(err, i.res.close(ctx), i.tracing.shutdown(ctx), i.reporter.Close(ctx))
	if err != nil {
		return fmt.Errorf("fn: stop %s: %w", i.name, err)
	}
	return nil
}

// Name is the name the function is served under.
func (i *Instance) Name() string { return i.name }

// ServeHTTP answers the health routes and passes everything else to the
// function, with a logger and the request's trace in the context.
func (i *Instance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case ReadinessPath:
		i.health(w, r, i.Ready)
		return
	case LivenessPath:
		i.health(w, r, i.Alive)
		return
	case MetricsPath:
		metrics.Handler().ServeHTTP(w, r)
		return
	}
	ctx := timeline.WithReporter(withTracer(r.Context(), i.tracing.tracer), i.reporter)
	log := i.log
	_, isEvent := i.f.(EventFunction)
	var span trace.Span
	if isEvent {
		// The event adapter starts the span, under the trace the event
		// carries; the header's is the fallback.
		ctx = events.WithTraceparent(ctx, r.Header.Get("traceparent"))
	} else {
		ctx, span = startSpan(ctx, i.tracing.tracer, r.Header.Get("traceparent"), r.Method, trace.SpanKindServer,
			attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path))
		log = log.With("trace_id", events.TraceID(events.Traceparent(ctx)))
	}
	ctx = WithLogger(ctx, log)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	begin := time.Now()
	inner := r.WithContext(ctx)
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "handler panicked", "panic", fmt.Sprint(p))
			if !rec.wrote {
				httpapi.WriteProblem(rec, r, httpapi.Internal())
			}
		}
		took := time.Since(begin)
		route := i.route(inner)
		if span != nil {
			span.SetName(route)
			span.SetAttributes(attribute.String("http.route", route))
			endSpan(span, rec.status)
		}
		httpRequests.WithLabelValues(i.name, route, methodLabel(r.Method), strconv.Itoa(rec.status)).Inc()
		httpDuration.WithLabelValues(i.name, route).Update(took.Seconds())
		log.InfoContext(ctx, "request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration_ms", took.Milliseconds())
	}()
	i.handler.ServeHTTP(rec, inner)
}

// route names the request for the metrics: the pattern the function's
// ServeMux matched (it sets it on the request it routes), "event" for an
// event function, "unmatched" for a path no route took.
func (i *Instance) route(r *http.Request) string {
	if _, isEvent := i.f.(EventFunction); isEvent {
		return "event"
	}
	if r.Pattern != "" {
		return r.Pattern
	}
	return "unmatched"
}

// Ready reports whether the instance can take traffic: started, not
// stopping, every resource kept with Use answering its Ping, and ready by
// the function's own Ready hook if it has one.
func (i *Instance) Ready(ctx context.Context) (bool, error) {
	if !i.started.Load() || i.stopped.Load() {
		return false, nil
	}
	if err := i.res.ping(ctx); err != nil {
		return false, err
	}
	if r, ok := i.f.(ReadinessReporter); ok {
		return r.Ready(ctx)
	}
	return true, nil
}

// Alive reports whether the function is healthy, by its Alive hook if it
// has one. A process waiting to be started is alive.
func (i *Instance) Alive(ctx context.Context) (bool, error) {
	if l, ok := i.f.(LivenessReporter); ok {
		return l.Alive(ctx)
	}
	return true, nil
}

func (i *Instance) health(w http.ResponseWriter, r *http.Request, check func(context.Context) (bool, error)) {
	ok, err := check(r.Context())
	if err != nil {
		i.log.WarnContext(r.Context(), "health check failed", "path", r.URL.Path, "error", err)
	}
	if !ok || err != nil {
		// An error answer like every other: problem+json.
		httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusServiceUnavailable, "unavailable", "the function is not "+strings.TrimPrefix(r.URL.Path, "/health/")))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// Serve starts f under name with cfg, serves it on ListenAddress(cfg) until
// ctx is done or the process gets SIGTERM or SIGINT, then drains in-flight
// requests and stops f. It logs JSON to stderr at cfg's LOG_LEVEL. It is
// what a function's container runs.
func Serve(ctx context.Context, name string, f any, cfg map[string]string) error {
	ctx, cancel := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer cancel()
	addr := ListenAddress(cfg)
	inst, err := NewInstance(name, f, NewLogger(os.Stderr, cfg))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fn: listen %s: %w", addr, err)
	}
	if err := inst.Start(ctx, cfg); err != nil {
		ln.Close()
		return err
	}
	return inst.ServeListener(ctx, ln)
}

// ListenAddress is where a function listens: LISTEN_ADDRESS (the Knative
// Functions convention), else :PORT (what Knative Serving sets), else :8080.
func ListenAddress(cfg map[string]string) string {
	if a := cfg["LISTEN_ADDRESS"]; a != "" {
		return a
	}
	if p := cfg["PORT"]; p != "" {
		return ":" + p
	}
	return ":8080"
}

// Environ turns KEY=value pairs (os.Environ()) into the configuration map
// a function's Start gets. It is read once, at process start.
func Environ(pairs []string) map[string]string {
	cfg := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			cfg[k] = v
		}
	}
	return cfg
}

// ServeListener serves a started instance on ln until ctx is done, then
// shuts down gracefully and stops the function.
func (i *Instance) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: i, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	i.log.InfoContext(ctx, "serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("fn: serve %s: %w", i.name, err)
	case <-ctx.Done():
	}
	i.stopped.Store(true)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serr := i.Stop(shutdownCtx); serr != nil {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("fn: shut down %s: %w", i.name, err)
	}
	i.log.InfoContext(ctx, "stopped")
	return nil
}

// statusRecorder remembers the status code for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
