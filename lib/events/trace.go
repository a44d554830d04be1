package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

type traceKey struct{}

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

// ValidTraceparent reports whether tp is a well-formed W3C traceparent:
// version-traceid-parentid-flags, 2, 32, 16 and 2 lower-case hex digits,
// with a trace id that is not all zeros. (Checked by hand: a regexp with
// counted repeats compiles into hundreds of states at every process start.)
func ValidTraceparent(tp string) bool {
	if len(tp) != 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' {
		return false
	}
	for i := 0; i < len(tp); i++ {
		if i == 2 || i == 35 || i == 52 {
			continue
		}
		if c := tp[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return tp[3:35] != "00000000000000000000000000000000"
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
