// Package partner is the delivery partner of the local run: a sandbox that
// takes DELIVERY_STARTED like a real partner's webhook would, and then, one
// step per delay, reports the delivery COURIERED and DELIVERED to the
// deliveries status route in signed requests. It also holds the request
// signature both sides use.
package partner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/httpapi"
)

// DefaultDelay is the time between two sandbox steps.
const DefaultDelay = time.Second

// DelayFrom reads SANDBOX_COURIER_DELAY (a Go duration such as "1s") from
// cfg; DefaultDelay when unset.
func DelayFrom(cfg map[string]string) (time.Duration, error) {
	v := cfg["SANDBOX_COURIER_DELAY"]
	if v == "" {
		return DefaultDelay, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("partner: SANDBOX_COURIER_DELAY=%q is not a duration", v)
	}
	return d, nil
}

// attempts bounds how often the sandbox posts one step that fails with a
// 5xx or a network error; backoff is the wait before the second attempt,
// doubled after each.
const (
	attempts = 5
	backoff  = 200 * time.Millisecond
)

// Sandbox is the sandbox partner. It is an http.Handler for CloudEvents.
type Sandbox struct {
	statusURL func(deliveryID string) string
	secret    []byte
	delay     time.Duration
	log       *slog.Logger
	client    *http.Client

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	timers map[string]*time.Timer // the pending step of each delivery
	taken  map[string]bool        // deliveries already taken, against redelivery
	traces map[string]string      // the traceparent each delivery came with
}

var _ http.Handler = (*Sandbox)(nil)

// New returns a sandbox that reports to the deliveries function at
// deliveriesURL (its base URL: the gateway, or the function itself), signing
// with secret, one step every delay.
func New(deliveriesURL string, secret []byte, delay time.Duration, log *slog.Logger) *Sandbox {
	base := strings.TrimSuffix(deliveriesURL, "/")
	ctx, cancel := context.WithCancel(context.Background())
	return &Sandbox{
		statusURL: func(id string) string { return base + "/api/deliveries/" + id + "/events" },
		secret:    secret, delay: delay, log: log,
		client: &http.Client{Transport: httpapi.NewTransport(), Timeout: 10 * time.Second},
		ctx:    ctx, cancel: cancel,
		timers: map[string]*time.Timer{}, taken: map[string]bool{}, traces: map[string]string{},
	}
}

// ServeHTTP takes a CloudEvent. DELIVERY_STARTED is answered 202 at once and
// the delivery is scheduled; another type is ignored (204); something that
// is not a valid event is 400.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a CloudEvent", http.StatusMethodNotAllowed)
		return
	}
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		http.Error(w, "not a CloudEvent", http.StatusBadRequest)
		return
	}
	if events.Type(e.Type()) != events.DeliveryStarted {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var d events.DeliveryStartedData
	if err := events.Decode(*e, &d); err != nil {
		http.Error(w, "invalid DELIVERY_STARTED", http.StatusBadRequest)
		return
	}
	// A partner that honours W3C trace context: its callbacks carry the
	// trace of the DELIVERY_STARTED they answer, so an order's delivery
	// steps stay in the order's trace.
	tp, _ := e.Extensions()[events.ExtTraceparent].(string)
	if !s.take(d.DeliveryID, tp) {
		http.Error(w, "the sandbox partner is closed", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// take schedules the first step of a delivery not taken before. It reports
// false when the sandbox is closed.
func (s *Sandbox) take(deliveryID, traceparent string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if !s.taken[deliveryID] {
		s.taken[deliveryID] = true
		s.traces[deliveryID] = traceparent
		s.scheduleLocked(deliveryID, deliverystore.Couriered)
	}
	return true
}

func (s *Sandbox) scheduleLocked(deliveryID string, status deliverystore.Status) {
	s.wg.Add(1)
	s.timers[deliveryID] = time.AfterFunc(s.delay, func() {
		defer s.wg.Done()
		s.mu.Lock()
		delete(s.timers, deliveryID)
		s.mu.Unlock()
		err := s.report(deliveryID, status)
		switch {
		case errors.Is(err, errOutOfOrder):
			// The step was taken before (a restart forgot it, and a
			// re-driven DELIVERY_STARTED brought the delivery back): go on
			// from there; a DELIVERED refused so is already delivered.
			s.log.Info("sandbox partner: the step was already taken", "delivery_id", deliveryID, "status", status)
		case err != nil:
			s.log.Warn("sandbox partner gave up on a step", "delivery_id", deliveryID, "status", status, "error", err)
			s.forget(deliveryID)
			return
		default:
			s.log.Info("sandbox partner reported a step", "delivery_id", deliveryID, "status", status)
		}
		if status != deliverystore.Couriered {
			s.forget(deliveryID)
			return
		}
		s.mu.Lock()
		if !s.closed {
			s.scheduleLocked(deliveryID, deliverystore.Delivered)
		}
		s.mu.Unlock()
	})
}

// errRefused is a 4xx answer: the step will never be taken, retrying is
// pointless. errOutOfOrder (409) is the refusal of a step the delivery is
// already past.
var (
	errRefused    = errors.New("partner: deliveries refused the step")
	errOutOfOrder = fmt.Errorf("%w: out of order", errRefused)
)

// ProblemCancelled is the problem type slug of the 409 deliveries answers
// for a step of a cancelled delivery: unlike a step the delivery is past,
// it ends the partner's work on the delivery.
const ProblemCancelled = "delivery-cancelled"

// forget lets a later DELIVERY_STARTED of the delivery (driven again by
// reconcile-orders) take it anew.
func (s *Sandbox) forget(deliveryID string) {
	s.mu.Lock()
	delete(s.taken, deliveryID)
	delete(s.traces, deliveryID)
	s.mu.Unlock()
}

// report posts one signed step, retrying 5xx answers and network errors.
func (s *Sandbox) report(deliveryID string, status deliverystore.Status) error {
	body := []byte(`{"status":"` + status + `"}`)
	wait := backoff
	var err error
	for n := 1; n <= attempts; n++ {
		if err = s.post(deliveryID, body); err == nil || errors.Is(err, errRefused) {
			return err
		}
		if n == attempts {
			break
		}
		select {
		case <-s.ctx.Done():
			return errors.Join(err, s.ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
	return fmt.Errorf("partner: %d attempts: %w", attempts, err)
}

func (s *Sandbox) post(deliveryID string, body []byte) error {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.statusURL(deliveryID), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("partner: post step: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(s.secret, body))
	s.mu.Lock()
	tp := s.traces[deliveryID]
	s.mu.Unlock()
	if events.ValidTraceparent(tp) {
		req.Header.Set("traceparent", tp)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("partner: post step: %w", err)
	}
	answer, drainErr := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err := errors.Join(drainErr, resp.Body.Close()); err != nil {
		s.log.Debug("sandbox partner: reading the answer failed", "error", err)
	}
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusConflict && bytes.Contains(answer, []byte(ProblemCancelled)):
		return fmt.Errorf("%w: the delivery is cancelled", errRefused)
	case resp.StatusCode == http.StatusConflict:
		return errOutOfOrder
	case resp.StatusCode/100 == 4:
		return fmt.Errorf("%w: status %d", errRefused, resp.StatusCode)
	}
	return fmt.Errorf("partner: post step: status %d", resp.StatusCode)
}

// Close stops the pending steps, cancels the requests in flight and waits
// for them. The sandbox takes nothing more afterwards.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	s.closed = true
	for id, t := range s.timers {
		if t.Stop() {
			s.wg.Done() // its function will not run
		}
		delete(s.timers, id)
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}
