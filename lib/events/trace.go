package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
)

type traceKey struct{}

var traceparentPattern = regexp.MustCompile(`^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)

// WithTraceparent returns ctx carrying the W3C traceparent of the request or
// event being handled, so events built under it continue the same trace.
// An invalid value is ignored.
func WithTraceparent(ctx context.Context, tp string) context.Context {
	if !ValidTraceparent(tp) {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, tp)
}

// Traceparent returns the traceparent carried by ctx, or "".
func Traceparent(ctx context.Context) string {
	tp, _ := ctx.Value(traceKey{}).(string)
	return tp
}

// ValidTraceparent reports whether tp is a well-formed W3C traceparent.
func ValidTraceparent(tp string) bool {
	return traceparentPattern.MatchString(tp) && tp[3:35] != "00000000000000000000000000000000"
}

// NewTraceparent starts a new sampled trace.
func NewTraceparent() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return ""
	}
	return "00-" + hex.EncodeToString(b[:16]) + "-" + hex.EncodeToString(b[16:]) + "-01"
}

// TraceID returns the trace-id part of a traceparent, for log lines.
func TraceID(tp string) string {
	if !ValidTraceparent(tp) {
		return ""
	}
	return tp[3:35]
}
