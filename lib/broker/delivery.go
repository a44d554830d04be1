package broker

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/rickb777/date/period"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
)

// The extensions Knative puts on a dead-lettered event.
const (
	errorDestExt = "knativeerrordest"
	errorCodeExt = "knativeerrorcode"
	errorDataExt = "knativeerrordata"
)

const (
	// maxErrorData is how much of a failed response body travels with a dead-lettered event.
	maxErrorData = 1024
	// maxBodySize bounds what is read from an ingress request or a subscriber response.
	maxBodySize = 4 << 20
	// minDeadLetterWait keeps a failing dead-letter sink from being hammered.
	minDeadLetterWait = 100 * time.Millisecond
)

// ErrInvalidReply is the failure of a 2xx response that carries an invalid CloudEvent.
var ErrInvalidReply = errors.New("broker: invalid reply event")

// retryPolicy is a parsed spec.delivery.
type retryPolicy struct {
	retries int
	delay   time.Duration
	linear  bool
	timeout time.Duration
}

// newRetryPolicy parses d; a nil d means one attempt and no timeout.
func newRetryPolicy(d *eventingduckv1.DeliverySpec) (retryPolicy, error) {
	var p retryPolicy
	if d == nil {
		return p, nil
	}
	if d.Retry != nil {
		p.retries = int(*d.Retry)
	}
	if d.BackoffPolicy != nil {
		p.linear = *d.BackoffPolicy == eventingduckv1.BackoffPolicyLinear
	}
	var err error
	if d.BackoffDelay != nil {
		if p.delay, err = parseDuration(*d.BackoffDelay); err != nil {
			return retryPolicy{}, fmt.Errorf("delivery backoffDelay: %w", err)
		}
	}
	if d.Timeout != nil {
		if p.timeout, err = parseDuration(*d.Timeout); err != nil {
			return retryPolicy{}, fmt.Errorf("delivery timeout: %w", err)
		}
	}
	return p, nil
}

// parseDuration reads an ISO-8601 duration with the parser Knative uses.
func parseDuration(s string) (time.Duration, error) {
	p, err := period.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %w", ErrInvalidObject, s, err)
	}
	d, ok := p.Duration()
	if !ok {
		return 0, fmt.Errorf("%w: %q is not an exact duration", ErrInvalidObject, s)
	}
	return d, nil
}

// backoff is the wait before retry n (1-based): delay*n when linear,
// delay*2^n when exponential (the default).
func (p retryPolicy) backoff(n int) time.Duration {
	if p.linear {
		return p.delay * time.Duration(n)
	}
	return p.delay * time.Duration(math.Exp2(float64(n)))
}

// target is where one Trigger delivers.
type target struct {
	subscriber *url.URL
	deadLetter *url.URL
	policy     retryPolicy
}

// attempt is the outcome of one POST.
type attempt struct {
	status int
	body   []byte
	reply  *event.Event
	err    error
}

func (a attempt) ok() bool { return a.err == nil && a.status >= 200 && a.status < 300 }

// retryable says whether a failed attempt is worth another try, as Knative decides.
func (a attempt) retryable() bool {
	if a.status == 0 {
		return true
	}
	switch a.status {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return a.status >= 500
}

// deliverer sends events to subscribers and dead-letter sinks.
type deliverer struct {
	client *http.Client
	logger *slog.Logger
}

// deliver sends e to t.subscriber with t.policy and returns the reply event, if
// any. When every attempt fails the event goes to the dead-letter sink, or is
// dropped when there is none. An error means the outcome is not settled (ctx
// ended) and the record must not be committed.
func (d *deliverer) deliver(ctx context.Context, e event.Event, t target) (*event.Event, error) {
	var last attempt
	for n := 0; n <= t.policy.retries; n++ {
		if n > 0 {
			if err := sleep(ctx, t.policy.backoff(n)); err != nil {
				return nil, fmt.Errorf("deliver: %w", err)
			}
		}
		last = d.post(ctx, t.subscriber, e, t.policy.timeout)
		if last.ok() {
			return last.reply, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("deliver: %w", ctx.Err())
		}
		d.logger.LogAttrs(ctx, slog.LevelWarn, "delivery attempt failed",
			slog.String("event_id", e.ID()), slog.String("event_type", e.Type()),
			slog.Int("attempt", n+1), slog.Int("status", last.status), slog.Any("error", last.err))
		if !last.retryable() {
			break
		}
	}
	if t.deadLetter == nil {
		d.logger.LogAttrs(ctx, slog.LevelError, "event dropped after failed delivery",
			slog.String("event_id", e.ID()), slog.String("event_type", e.Type()), slog.Int("status", last.status))
		return nil, nil
	}
	return nil, d.deadLetter(ctx, e, t, last)
}

// deadLetter sends e, annotated with why it failed, to the dead-letter sink
// until the sink takes it or ctx ends.
func (d *deliverer) deadLetter(ctx context.Context, e event.Event, t target, last attempt) error {
	dl := e.Clone()
	dl.SetExtension(errorDestExt, t.subscriber.String())
	if last.status != 0 {
		dl.SetExtension(errorCodeExt, strconv.Itoa(last.status))
	}
	if len(last.body) > 0 {
		data := last.body
		if len(data) > maxErrorData {
			data = data[:maxErrorData]
		}
		dl.SetExtension(errorDataExt, base64.StdEncoding.EncodeToString(data))
	}
	ceiling := max(t.policy.retries, 1)
	for n := 0; ; n++ {
		if n > 0 {
			if err := sleep(ctx, max(t.policy.backoff(min(n, ceiling)), minDeadLetterWait)); err != nil {
				return fmt.Errorf("dead letter: %w", err)
			}
		}
		a := d.post(ctx, t.deadLetter, dl, t.policy.timeout)
		// The sink's reply, valid or not, plays no part: taking the event is enough.
		if a.status >= 200 && a.status < 300 {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("dead letter: %w", ctx.Err())
		}
		d.logger.LogAttrs(ctx, slog.LevelWarn, "dead-letter sink failed",
			slog.String("event_id", e.ID()), slog.Int("attempt", n+1), slog.Int("status", a.status), slog.Any("error", a.err))
	}
}

// post sends e in binary content mode and reads the response, reply included.
func (d *deliverer) post(ctx context.Context, u *url.URL, e event.Event, timeout time.Duration) attempt {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return attempt{err: fmt.Errorf("post: %w", err)}
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return attempt{err: fmt.Errorf("post: %w", err)}
	}
	req.Header.Set("Prefer", "reply")
	resp, err := d.client.Do(req)
	if err != nil {
		return attempt{err: fmt.Errorf("post: %w", err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize))
	a := attempt{status: resp.StatusCode, body: body}
	if err != nil {
		a.err = fmt.Errorf("post: read response: %w", err)
		return a
	}
	if a.ok() {
		a.reply, a.err = readReply(ctx, resp, body)
	}
	return a
}

// readReply returns the CloudEvent in a response, or nil when it carries none.
func readReply(ctx context.Context, resp *http.Response, body []byte) (*event.Event, error) {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	msg := cehttp.NewMessageFromHttpResponse(resp)
	if msg.ReadEncoding() == binding.EncodingUnknown {
		return nil, nil
	}
	reply, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidReply, err)
	}
	if err := reply.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidReply, err)
	}
	return reply, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
