package partner

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/broker/brokertest"
	"github.com/knshop/knshop/lib/events"
)

var secret = []byte("s3cret")

func TestSignature(t *testing.T) {
	body := []byte(`{"status":"COURIERED"}`)
	good := Sign(secret, body)
	cases := map[string]struct {
		secret []byte
		body   string
		header string
		want   bool
	}{
		"own signature":              {secret, string(body), good, true},
		"upper-case hex":             {secret, string(body), "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), true},
		"another body":               {secret, `{"status":"DELIVERED"}`, good, false},
		"another secret":             {[]byte("other"), string(body), good, false},
		"no prefix":                  {secret, string(body), strings.TrimPrefix(good, "sha256="), false},
		"not hex":                    {secret, string(body), "sha256=zz", false},
		"empty secret signs nothing": {nil, string(body), Sign(nil, body), false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Verify(tc.secret, []byte(tc.body), tc.header); got != tc.want {
				t.Fatalf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}

// deliveriesStub records the steps posted to it; it answers 503 to the
// first failures requests, and checks each signature.
type deliveriesStub struct {
	mu       sync.Mutex
	failures int
	steps    []string
	badSigs  int
	// couriered answers 409 to COURIERED, as deliveries does for a
	// delivery already past it.
	couriered bool
}

func (d *deliveriesStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", 400)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !Verify(secret, body, r.Header.Get(SignatureHeader)) {
		d.badSigs++
		http.Error(w, "bad signature", 401)
		return
	}
	if d.failures > 0 {
		d.failures--
		http.Error(w, "down", 503)
		return
	}
	if d.couriered && strings.Contains(string(body), "COURIERED") {
		http.Error(w, "out of order", 409)
		return
	}
	d.steps = append(d.steps, r.URL.Path+" "+string(body))
	w.WriteHeader(202)
}

func (d *deliveriesStub) got() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.steps...)
}

func started(t *testing.T, deliveryID string) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.DeliveryStartedData{
		DeliveryID: deliveryID, OrderID: "order-1", Partner: events.Partner{ID: "sandbox", Name: "sandbox"},
		Address:   events.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"},
		StartedAt: time.Now().UTC(),
	})
	return e
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func waitSteps(t *testing.T, d *deliveriesStub, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := d.got(); len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("steps = %v, want %d", d.got(), n)
	return nil
}

func TestSandboxReportsBothStepsInOrderThroughFailures(t *testing.T) {
	stub := &deliveriesStub{failures: 2}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	sb := New(srv.URL+"/", secret, 20*time.Millisecond, quiet())
	defer sb.Close()
	partnerSrv := httptest.NewServer(sb)
	defer partnerSrv.Close()

	if got := brokertest.Send(t, partnerSrv.URL, started(t, "d-1")).StatusCode; got != http.StatusAccepted {
		t.Fatalf("DELIVERY_STARTED answered %d, want 202", got)
	}
	if got := brokertest.Send(t, partnerSrv.URL, started(t, "d-1")).StatusCode; got != http.StatusAccepted {
		t.Fatalf("redelivered DELIVERY_STARTED answered %d, want 202", got)
	}
	waitSteps(t, stub, 2)
	time.Sleep(100 * time.Millisecond) // a duplicate sequence would show up by now
	want := []string{`/api/deliveries/d-1/events {"status":"COURIERED"}`, `/api/deliveries/d-1/events {"status":"DELIVERED"}`}
	if steps := stub.got(); len(steps) != 2 || steps[0] != want[0] || steps[1] != want[1] {
		t.Fatalf("steps = %q, want %q", steps, want)
	}
	if stub.badSigs != 0 {
		t.Fatalf("%d requests were badly signed", stub.badSigs)
	}
}

// After a restart the sandbox has forgotten a delivery it had couriered;
// the DELIVERY_STARTED reconcile-orders drives again makes it go on to
// DELIVERED, and once done the delivery can be taken again.
func TestSandboxResumesADeliveryItHadForgotten(t *testing.T) {
	stub := &deliveriesStub{couriered: true}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	sb := New(srv.URL+"/", secret, 10*time.Millisecond, quiet())
	defer sb.Close()
	partnerSrv := httptest.NewServer(sb)
	defer partnerSrv.Close()
	for round := 1; round <= 2; round++ {
		if got := brokertest.Send(t, partnerSrv.URL, started(t, "d-2")).StatusCode; got != http.StatusAccepted {
			t.Fatalf("DELIVERY_STARTED answered %d, want 202", got)
		}
		steps := waitSteps(t, stub, round)
		if steps[round-1] != `/api/deliveries/d-2/events {"status":"DELIVERED"}` {
			t.Fatalf("round %d: steps = %q, want DELIVERED", round, steps)
		}
		eventually := time.Now().Add(2 * time.Second)
		for sb.isTaken("d-2") && time.Now().Before(eventually) {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (s *Sandbox) isTaken(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken[id]
}

func TestSandboxAnswers(t *testing.T) {
	sb := New("http://127.0.0.1:1", secret, time.Hour, quiet())
	defer sb.Close()
	srv := httptest.NewServer(sb)
	defer srv.Close()
	other := eventstest.Build(t, events.OrderCompletedData{OrderID: "o", CustomerID: "c", CompletedAt: time.Now().UTC()})
	broken := started(t, "d-2")
	if err := broken.SetData(event.ApplicationJSON, map[string]any{"deliveryId": 1}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		e    event.Event
		want int
	}{
		"DELIVERY_STARTED is taken": {started(t, "d-1"), http.StatusAccepted},
		"another type is ignored":   {other, http.StatusNoContent},
		"invalid data is refused":   {broken, http.StatusBadRequest},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := brokertest.Send(t, srv.URL, tc.e).StatusCode; got != tc.want {
				t.Fatalf("status = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestCloseStopsPendingSteps(t *testing.T) {
	stub := &deliveriesStub{}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	sb := New(srv.URL, secret, 50*time.Millisecond, quiet())
	partnerSrv := httptest.NewServer(sb)
	defer partnerSrv.Close()
	if got := brokertest.Send(t, partnerSrv.URL, started(t, "d-1")).StatusCode; got != http.StatusAccepted {
		t.Fatalf("DELIVERY_STARTED answered %d", got)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if got := stub.got(); len(got) != 0 {
		t.Fatalf("steps after Close = %v", got)
	}
	if got := brokertest.Send(t, partnerSrv.URL, started(t, "d-2")).StatusCode; got != http.StatusServiceUnavailable {
		t.Fatalf("a closed sandbox answered %d, want 503", got)
	}
}

func TestDelayFrom(t *testing.T) {
	cases := map[string]struct {
		v       string
		want    time.Duration
		wantErr bool
	}{
		"default":  {"", DefaultDelay, false},
		"set":      {"250ms", 250 * time.Millisecond, false},
		"garbage":  {"soon", 0, true},
		"negative": {"-1s", 0, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := DelayFrom(map[string]string{"SANDBOX_COURIER_DELAY": tc.v})
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("DelayFrom(%q) = %v, %v", tc.v, got, err)
			}
		})
	}
}
