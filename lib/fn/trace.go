package fn

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/knshop/knshop/lib/events"
)

// Tracing: one span per HTTP request and per event handled, joined across
// functions by the W3C traceparent (the HTTP header, or the CloudEvent's
// traceparent extension), recorded with the OpenTelemetry SDK and exported
// over OTLP/HTTP (JSON encoding, otlp.go) when the OpenTelemetry
// environment asks for it:
//
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   full URL (e.g. http://collector:4318/v1/traces)
//	OTEL_EXPORTER_OTLP_ENDPOINT          base URL; /v1/traces is appended
//	OTEL_SERVICE_NAME                    service.name (default: the function's name)
//	OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none   no export
//	OTEL_BSP_SCHEDULE_DELAY              batch delay in ms (default 5000)
//	OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TRACES_HEADERS   k=v,k2=v2
//	OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT   ms (default 10000)
//
// The SDK reads OTEL_TRACES_SAMPLER and its argument itself. Without an
// endpoint the tracer is OpenTelemetry's no-op: no SDK, no exporter, no
// allocation per span, and the traceparent passes through unchanged.

// tracing is an instance's tracer and how to flush it.
type tracing struct {
	tracer   trace.Tracer
	shutdown func(context.Context) error
}

var noTracing = tracing{tracer: noop.NewTracerProvider().Tracer(""), shutdown: func(context.Context) error { return nil }}

// tracesEndpoint is the OTLP/HTTP traces URL cfg asks for, or "".
func tracesEndpoint(cfg map[string]string) string {
	if strings.EqualFold(cfg["OTEL_SDK_DISABLED"], "true") || strings.EqualFold(cfg["OTEL_TRACES_EXPORTER"], "none") {
		return ""
	}
	if u := cfg["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]; u != "" {
		return u
	}
	if u := cfg["OTEL_EXPORTER_OTLP_ENDPOINT"]; u != "" {
		return strings.TrimSuffix(u, "/") + "/v1/traces"
	}
	return ""
}

// newTracing builds the tracer of the function name from cfg.
func newTracing(name string, cfg map[string]string) (tracing, error) {
	endpoint := tracesEndpoint(cfg)
	if endpoint == "" {
		return noTracing, nil
	}
	exp, err := newOTLPExporter(endpoint, cfg)
	if err != nil {
		return noTracing, fmt.Errorf("fn: tracing: %w", err)
	}
	service := cfg["OTEL_SERVICE_NAME"]
	if service == "" {
		service = name
	}
	var batch []sdktrace.BatchSpanProcessorOption
	if ms, err := strconv.Atoi(cfg["OTEL_BSP_SCHEDULE_DELAY"]); err == nil && ms > 0 {
		batch = append(batch, sdktrace.WithBatchTimeout(time.Duration(ms)*time.Millisecond))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, batch...),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", service),
			attribute.String("service.namespace", "knshop"),
		)),
	)
	return tracing{tracer: tp.Tracer("github.com/knshop/knshop/lib/fn"), shutdown: tp.Shutdown}, nil
}

// startSpan starts a span under the trace tp names and returns the context
// carrying both the span and the traceparent that events published from
// here must carry: the new span's, so the next function's span is its
// child. With the no-op tracer the span is the parent's and tp is unchanged.
func startSpan(ctx context.Context, tr trace.Tracer, tp, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	w3c := propagation.TraceContext{}
	ctx = w3c.Extract(ctx, propagation.MapCarrier{"traceparent": tp})
	ctx, span := tr.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	out := propagation.MapCarrier{}
	w3c.Inject(ctx, out)
	tp = out.Get("traceparent")
	if !events.ValidTraceparent(tp) {
		// No trace came in and none is recorded: start one for the logs
		// and the events published from here.
		tp = events.NewTraceparent()
	}
	return events.WithTraceparent(ctx, tp), span
}

// endSpan records the answer's status code on span and ends it; a 5xx is
// an error.
func endSpan(span trace.Span, status int) {
	if !span.IsRecording() {
		span.End()
		return
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	span.End()
}

// tracerKey carries the instance's tracer to the event adapter.
type tracerKey struct{}

func withTracer(ctx context.Context, tr trace.Tracer) context.Context {
	return context.WithValue(ctx, tracerKey{}, tr)
}

func tracerFrom(ctx context.Context) trace.Tracer {
	if tr, ok := ctx.Value(tracerKey{}).(trace.Tracer); ok {
		return tr
	}
	return noTracing.tracer
}
