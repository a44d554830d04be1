// Package httpapi holds the HTTP pieces every knshop HTTP function shares:
// RFC 9457 problem+json errors, strict JSON decoding, JSON answers and
// pagination. A function maps its domain errors to a Problem in one place
// and hands it to WriteError.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ProblemContentType is the media type of every error answer.
const ProblemContentType = "application/problem+json"

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem detail. It is also an error, so handlers
// can return it through their own layers.
type Problem struct {
	Type       string        `json:"type"`
	Title      string        `json:"title"`
	Status     int           `json:"status"`
	Detail     string        `json:"detail,omitempty"`
	Instance   string        `json:"instance,omitempty"`
	Errors     []FieldError  `json:"errors,omitempty"`
	RetryAfter time.Duration `json:"-"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// NewProblem returns a problem of status with detail; its type is a URN
// naming the status, e.g. urn:knshop:problem:not-found.
func NewProblem(status int, slug, detail string) *Problem {
	return &Problem{Type: "urn:knshop:problem:" + slug, Title: http.StatusText(status), Status: status, Detail: detail}
}

// BadRequest is a 400 for input that cannot be read.
func BadRequest(detail string) *Problem {
	return NewProblem(http.StatusBadRequest, "bad-request", detail)
}

// Invalid is a 400 listing each invalid field.
func Invalid(errs ...FieldError) *Problem {
	p := NewProblem(http.StatusBadRequest, "validation", "the request has invalid fields")
	p.Errors = errs
	return p
}

// Unauthorized is a 401: no valid access token or credentials.
func Unauthorized(detail string) *Problem {
	return NewProblem(http.StatusUnauthorized, "unauthorized", detail)
}

// Forbidden is a 403: the caller's role may not do this.
func Forbidden(detail string) *Problem {
	return NewProblem(http.StatusForbidden, "forbidden", detail)
}

// NotFound is a 404 for what does not exist or is not the caller's.
func NotFound(what string) *Problem {
	return NewProblem(http.StatusNotFound, "not-found", what+" not found")
}

// Conflict is a 409: the resource's state forbids the request.
func Conflict(detail string) *Problem {
	return NewProblem(http.StatusConflict, "conflict", detail)
}

// TooManyRequests is a 429 that tells the client when to come back.
func TooManyRequests(detail string, retryAfter time.Duration) *Problem {
	p := NewProblem(http.StatusTooManyRequests, "rate-limited", detail)
	p.RetryAfter = retryAfter
	return p
}

// Internal is the only 500 a client sees: no cause, no stack.
func Internal() *Problem {
	return NewProblem(http.StatusInternalServerError, "internal", "something went wrong on our side; try again")
}

// WriteProblem writes p as application/problem+json.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	if p.RetryAfter > 0 {
		secs := int((p.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	if err := json.NewEncoder(w).Encode(p); err != nil {
		slog.Default().WarnContext(r.Context(), "httpapi: writing a problem failed", "error", err)
	}
}

// WriteError answers err: a *Problem anywhere in its chain is written as
// is; anything else is logged with log and answered with a bare 500.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var p *Problem
	if errors.As(err, &p) {
		WriteProblem(w, r, p)
		return
	}
	if log == nil {
		log = slog.Default()
	}
	log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "error", err)
	WriteProblem(w, r, Internal())
}

// JSON writes v with status as application/json.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		slog.Default().Warn("httpapi: writing a JSON answer failed", "error", err)
	}
}

// MethodNotAllowed is a 405 for r's method on r's path.
func MethodNotAllowed(r *http.Request) *Problem {
	return NewProblem(http.StatusMethodNotAllowed, "method-not-allowed", r.Method+" is not allowed on "+r.URL.Path)
}

// Mux serves an http.ServeMux whose own answers (404 for a path it does not
// route, 405 for a method a route does not take) are problem+json like every
// other error; the mux's Allow header is kept.
func Mux(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(&muxErrorWriter{ResponseWriter: w, r: r}, r)
	})
}

// muxErrorWriter turns the plain-text 404/405 a ServeMux writes (through
// http.Error) into problem+json; every other answer, a handler's own
// problem included, passes through as it is.
type muxErrorWriter struct {
	http.ResponseWriter
	r       *http.Request
	problem bool
}

func (m *muxErrorWriter) WriteHeader(status int) {
	if strings.HasPrefix(m.Header().Get("Content-Type"), "text/plain") {
		m.convert(status)
		return
	}
	m.ResponseWriter.WriteHeader(status)
}

func (m *muxErrorWriter) convert(status int) {
	switch status {
	case http.StatusNotFound:
		m.problem = true
		WriteProblem(m.ResponseWriter, m.r, NotFound("route"))
	case http.StatusMethodNotAllowed:
		m.problem = true
		WriteProblem(m.ResponseWriter, m.r, MethodNotAllowed(m.r))
	default:
		m.ResponseWriter.WriteHeader(status)
	}
}

func (m *muxErrorWriter) Write(b []byte) (int, error) {
	if m.problem {
		return len(b), nil
	}
	return m.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (m *muxErrorWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }
