package fn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// otlpExporter sends spans to an OTLP/HTTP receiver in the protocol's JSON
// encoding (OTLP 1.x, `application/json`, hex trace and span ids). The
// OpenTelemetry SDK does the rest (sampling, batching, retries by the
// batcher's next round); this is only the encoding and the POST.
//
// Why not go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp:
// it links gRPC and the generated protobuf of the whole OTLP collector API
// even when it speaks HTTP, and measured on cmd/fn that was +9.9 MB of
// binary (16.6 → 26.5 MB stripped, before the metrics) for every function,
// traced or not. docs/benchmarks.md has the numbers.
type otlpExporter struct {
	url     string
	headers map[string]string
	client  *http.Client
}

// newOTLPExporter reads the OTLP headers and timeout from cfg.
func newOTLPExporter(endpoint string, cfg map[string]string) (*otlpExporter, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("OTLP traces endpoint %q is not an http(s) URL", endpoint)
	}
	headers := map[string]string{}
	for _, key := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		for _, kv := range strings.Split(cfg[key], ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || k == "" {
				continue
			}
			if uv, err := url.QueryUnescape(v); err == nil {
				v = uv
			}
			headers[k] = v
		}
	}
	timeout := 10 * time.Second
	for _, key := range []string{"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"} {
		if ms, err := strconv.Atoi(cfg[key]); err == nil && ms > 0 {
			timeout = time.Duration(ms) * time.Millisecond
		}
	}
	return &otlpExporter{url: endpoint, headers: headers, client: &http.Client{Timeout: timeout}}, nil
}

// The OTLP JSON shapes, as far as knshop's spans use them.
type (
	otlpRequest struct {
		ResourceSpans []otlpResourceSpans `json:"resourceSpans"`
	}
	otlpResourceSpans struct {
		Resource   otlpResource     `json:"resource"`
		ScopeSpans []otlpScopeSpans `json:"scopeSpans"`
	}
	otlpResource struct {
		Attributes []otlpKeyValue `json:"attributes"`
	}
	otlpScopeSpans struct {
		Scope otlpScope  `json:"scope"`
		Spans []otlpSpan `json:"spans"`
	}
	otlpScope struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
	}
	otlpSpan struct {
		TraceID           string         `json:"traceId"`
		SpanID            string         `json:"spanId"`
		ParentSpanID      string         `json:"parentSpanId,omitempty"`
		Name              string         `json:"name"`
		Kind              int            `json:"kind"`
		StartTimeUnixNano string         `json:"startTimeUnixNano"`
		EndTimeUnixNano   string         `json:"endTimeUnixNano"`
		Attributes        []otlpKeyValue `json:"attributes,omitempty"`
		Events            []otlpEvent    `json:"events,omitempty"`
		Status            otlpStatus     `json:"status"`
	}
	otlpEvent struct {
		TimeUnixNano string         `json:"timeUnixNano"`
		Name         string         `json:"name"`
		Attributes   []otlpKeyValue `json:"attributes,omitempty"`
	}
	otlpStatus struct {
		Code    int    `json:"code,omitempty"`
		Message string `json:"message,omitempty"`
	}
	otlpKeyValue struct {
		Key   string    `json:"key"`
		Value otlpValue `json:"value"`
	}
	otlpValue struct {
		StringValue *string         `json:"stringValue,omitempty"`
		BoolValue   *bool           `json:"boolValue,omitempty"`
		IntValue    *string         `json:"intValue,omitempty"`
		DoubleValue *float64        `json:"doubleValue,omitempty"`
		ArrayValue  *otlpArrayValue `json:"arrayValue,omitempty"`
	}
	otlpArrayValue struct {
		Values []otlpValue `json:"values"`
	}
)

func otlpAttrs(kvs []attribute.KeyValue) []otlpKeyValue {
	out := make([]otlpKeyValue, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, otlpKeyValue{Key: string(kv.Key), Value: otlpValueOf(kv.Value)})
	}
	return out
}

func otlpValueOf(v attribute.Value) otlpValue {
	str := func(s string) otlpValue { return otlpValue{StringValue: &s} }
	integer := func(n int64) otlpValue { s := strconv.FormatInt(n, 10); return otlpValue{IntValue: &s} }
	float := func(f float64) otlpValue { return otlpValue{DoubleValue: &f} }
	boolean := func(b bool) otlpValue { return otlpValue{BoolValue: &b} }
	array := func(vs []otlpValue) otlpValue { return otlpValue{ArrayValue: &otlpArrayValue{Values: vs}} }
	switch v.Type() {
	case attribute.BOOL:
		return boolean(v.AsBool())
	case attribute.INT64:
		return integer(v.AsInt64())
	case attribute.FLOAT64:
		return float(v.AsFloat64())
	case attribute.BOOLSLICE:
		return array(mapSlice(v.AsBoolSlice(), boolean))
	case attribute.INT64SLICE:
		return array(mapSlice(v.AsInt64Slice(), integer))
	case attribute.FLOAT64SLICE:
		return array(mapSlice(v.AsFloat64Slice(), float))
	case attribute.STRINGSLICE:
		return array(mapSlice(v.AsStringSlice(), str))
	}
	return str(v.String())
}

func mapSlice[T any](in []T, f func(T) otlpValue) []otlpValue {
	out := make([]otlpValue, len(in))
	for i, x := range in {
		out[i] = f(x)
	}
	return out
}

func unixNano(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// ExportSpans posts one batch. A provider has one resource; spans are
// grouped by instrumentation scope.
func (e *otlpExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	rs := otlpResourceSpans{Resource: otlpResource{Attributes: otlpAttrs(spans[0].Resource().Attributes())}}
	scopes := map[string]int{}
	for _, s := range spans {
		scope := s.InstrumentationScope()
		i, ok := scopes[scope.Name+"\x00"+scope.Version]
		if !ok {
			i = len(rs.ScopeSpans)
			scopes[scope.Name+"\x00"+scope.Version] = i
			rs.ScopeSpans = append(rs.ScopeSpans, otlpScopeSpans{Scope: otlpScope{Name: scope.Name, Version: scope.Version}})
		}
		sc := s.SpanContext()
		span := otlpSpan{
			TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String(),
			Name: s.Name(), Kind: int(s.SpanKind()),
			StartTimeUnixNano: unixNano(s.StartTime()), EndTimeUnixNano: unixNano(s.EndTime()),
			Attributes: otlpAttrs(s.Attributes()),
		}
		if p := s.Parent(); p.IsValid() {
			span.ParentSpanID = p.SpanID().String()
		}
		for _, ev := range s.Events() {
			span.Events = append(span.Events, otlpEvent{TimeUnixNano: unixNano(ev.Time), Name: ev.Name, Attributes: otlpAttrs(ev.Attributes)})
		}
		switch st := s.Status(); st.Code {
		case codes.Ok:
			span.Status = otlpStatus{Code: 1}
		case codes.Error:
			span.Status = otlpStatus{Code: 2, Message: st.Description}
		}
		rs.ScopeSpans[i].Spans = append(rs.ScopeSpans[i].Spans, span)
	}
	body, err := json.Marshal(otlpRequest{ResourceSpans: []otlpResourceSpans{rs}})
	if err != nil {
		return fmt.Errorf("otlp: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("otlp: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("otlp: export %d spans: %w", len(spans), err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("otlp: export %d spans: %s answered %d", len(spans), e.url, resp.StatusCode)
	}
	return nil
}

// Shutdown has nothing to release: the SDK flushes before calling it.
func (e *otlpExporter) Shutdown(context.Context) error { return nil }

var _ sdktrace.SpanExporter = (*otlpExporter)(nil)
