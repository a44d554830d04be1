// Package sink sends CloudEvents to the Broker (K_SINK) over HTTP in binary
// content mode. It does not retry: the outbox relay does.
package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/knshop/knshop/lib/httpapi"
)

// Sender delivers one event.
type Sender interface {
	Send(ctx context.Context, e event.Event) error
}

// ErrRejected is wrapped by every *StatusError: the sink answered, but not
// with a 2xx.
var ErrRejected = errors.New("sink: event not accepted")

// StatusError is a non-2xx answer of the sink.
type StatusError struct {
	Code int
	Body string // the first bytes of the answer, for the log
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("sink: status %d: %s", e.Code, e.Body)
}

// Unwrap makes errors.Is(err, ErrRejected) hold.
func (e *StatusError) Unwrap() error { return ErrRejected }

// DefaultTimeout bounds one Send unless WithTimeout says otherwise.
const DefaultTimeout = 10 * time.Second

// HTTP posts events to one URL.
type HTTP struct {
	url     string
	client  *http.Client
	timeout time.Duration
}

var _ Sender = (*HTTP)(nil)

// Option tunes an HTTP sender.
type Option func(*HTTP)

// WithTimeout bounds each Send (DefaultTimeout otherwise).
func WithTimeout(d time.Duration) Option { return func(h *HTTP) { h.timeout = d } }

// WithClient sends with c instead of the package's client.
func WithClient(c *http.Client) Option { return func(h *HTTP) { h.client = c } }

// client is what every sender uses unless WithClient says otherwise: it
// keeps idle connections for the sends in flight (httpapi.NewTransport).
var client = &http.Client{Transport: httpapi.NewTransport()}

// NewHTTP returns a sender posting to url.
func NewHTTP(url string, opts ...Option) *HTTP {
	h := &HTTP{url: url, client: client, timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(h)
	}
	return h
}

// bodyPeek is how much of a refusal's body lands in the error.
const bodyPeek = 256

// Send posts e in binary mode. A 2xx answer means the event was taken; any
// other answer is a *StatusError, a failed request its own error.
func (h *HTTP) Send(ctx context.Context, e event.Event) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, nil)
	if err != nil {
		return fmt.Errorf("sink: send %s: %w", e.ID(), err)
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return fmt.Errorf("sink: send %s: encode: %w", e.ID(), err)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("sink: send %s: %w", e.ID(), err)
	}
	body := readAndClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("sink: send %s: %w", e.ID(), &StatusError{Code: resp.StatusCode, Body: body})
	}
	return nil
}

// readAndClose returns the first bytes of body, drains the rest so the
// connection can be reused, and closes it. Trouble reading is folded into
// the text: it only matters for the message of a refusal.
func readAndClose(body io.ReadCloser) string {
	peek, readErr := io.ReadAll(io.LimitReader(body, bodyPeek))
	_, drainErr := io.Copy(io.Discard, body)
	if err := errors.Join(readErr, drainErr, body.Close()); err != nil {
		return string(peek) + " (reading the answer: " + err.Error() + ")"
	}
	return string(peek)
}

// URLKey is where a function finds the Broker: Knative's SinkBinding (and
// the local stack) sets K_SINK.
const URLKey = "K_SINK"

// ErrNoURL is URLFrom's error when K_SINK is not set.
var ErrNoURL = errors.New("sink: K_SINK is not set")

// URLFrom reads the Broker's URL from a function's configuration: K_SINK,
// required.
func URLFrom(cfg map[string]string) (string, error) {
	if cfg[URLKey] == "" {
		return "", ErrNoURL
	}
	return cfg[URLKey], nil
}
