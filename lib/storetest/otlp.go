package storetest

import (
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// unmarshalOTLPJSON decodes OTLP's JSON encoding strictly into the
// official generated types: OTLP JSON is proto3 JSON except that trace and
// span ids are hex, not base64, so those are converted first. An unknown
// field, a wrong type or a bad enum fails.
func unmarshalOTLPJSON(data []byte, msg *coltracepb.ExportTraceServiceRequest) error {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return err
	}
	if err := hexIDsToBase64(doc); err != nil {
		return err
	}
	std, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(std, msg)
}

func hexIDsToBase64(v any) error {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && (k == "traceId" || k == "spanId" || k == "parentSpanId") {
				b, err := hex.DecodeString(s)
				if err != nil {
					return fmt.Errorf("%s %q is not hex: %w", k, s, err)
				}
				x[k] = base64.StdEncoding.EncodeToString(b)
				continue
			}
			if err := hexIDsToBase64(val); err != nil {
				return err
			}
		}
	case []any:
		for _, val := range x {
			if err := hexIDsToBase64(val); err != nil {
				return err
			}
		}
	}
	return nil
}

// Span is one span an OTLPReceiver got, with its service's name.
type Span struct {
	Service, Name                 string
	TraceID, SpanID, ParentSpanID string
	Attributes                    map[string]string
}

// OTLPReceiver is an in-process OTLP/HTTP trace receiver: what a collector
// would get from the functions' exporters (OTLP/HTTP, JSON encoding),
// decoded into the official generated types.
type OTLPReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []Span
}

// NewOTLPReceiver starts a receiver, closed when t ends.
func NewOTLPReceiver(t testing.TB) *OTLPReceiver {
	t.Helper()
	r := &OTLPReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// Endpoint is the base URL for OTEL_EXPORTER_OTLP_ENDPOINT.
func (r *OTLPReceiver) Endpoint() string { return r.srv.URL }

// Spans returns the spans received so far.
func (r *OTLPReceiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// WaitFor polls until ok holds for the spans received, or fails t.
func (r *OTLPReceiver) WaitFor(t testing.TB, timeout time.Duration, ok func([]Span) bool) []Span {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		spans := r.Spans()
		if ok(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("OTLP receiver: condition not met within %v; %d spans received", timeout, len(spans))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *OTLPReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
		http.NotFound(w, req)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		http.Error(w, "only OTLP's JSON encoding is taken here, not "+ct, http.StatusUnsupportedMediaType)
		return
	}
	var msg coltracepb.ExportTraceServiceRequest
	if err := unmarshalOTLPJSON(data, &msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Span
	for _, rs := range msg.GetResourceSpans() {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				attrs := map[string]string{}
				for _, a := range s.GetAttributes() {
					attrs[a.GetKey()] = a.GetValue().GetStringValue()
				}
				got = append(got, Span{
					Service: service, Name: s.GetName(),
					TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()), Attributes: attrs,
				})
			}
		}
	}
	r.mu.Lock()
	r.spans = append(r.spans, got...)
	r.mu.Unlock()
	// An ExportTraceServiceResponse with nothing rejected.
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}")
}
