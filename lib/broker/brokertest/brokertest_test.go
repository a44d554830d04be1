package brokertest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/storetest"
)

func paid(t *testing.T) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.PaymentSuccessData{
		PaymentID: ids.New(), OrderID: ids.New(), CustomerID: "c", TransactionID: "tx", Amount: money.New(100, "USD"),
		Method: "pm_card_visa", PaidAt: time.Now().UTC(),
		ShippingAddress: &events.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"},
	})
	return e
}

func TestSend(t *testing.T) {
	cases := map[string]struct {
		status int
	}{
		"accepted":  {http.StatusAccepted},
		"no reply":  {http.StatusNoContent},
		"retryable": {http.StatusInternalServerError},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := paid(t)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Ce-Id") != e.ID() || r.Header.Get("Ce-Type") != e.Type() {
					t.Errorf("not binary mode: Ce-Id %q, Ce-Type %q", r.Header.Get("Ce-Id"), r.Header.Get("Ce-Type"))
				}
				w.Header().Set("Ce-Type", "REPLY")
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			resp := Send(t, srv.URL, e)
			if resp.StatusCode != tc.status || resp.Header.Get("Ce-Type") != "REPLY" {
				t.Fatalf("status %d, Ce-Type %q; want %d, REPLY", resp.StatusCode, resp.Header.Get("Ce-Type"), tc.status)
			}
		})
	}
}

// TestStartDeliversToTheTrigger runs the repo's Broker with the
// start-delivery Trigger and sees a published PAYMENT_SUCCESS reach the
// Service the Trigger names.
func TestStartDeliversToTheTrigger(t *testing.T) {
	subscriber := storetest.NewEventRecorder(t)
	deadLetters := storetest.NewEventRecorder(t)
	b := Start(t, "../../..", map[string]string{"start-delivery": subscriber.URL(), "dead-letter": deadLetters.URL()},
		"start-delivery")
	ingress := httptest.NewServer(b.Handler())
	defer ingress.Close()
	e := paid(t)
	Publish(t, ingress.URL+"/knshop/default", e)
	got := subscriber.WaitFor(t, 1, 20*time.Second)
	if got[0].ID() != e.ID() {
		t.Fatalf("the subscriber got %s, want %s", got[0].ID(), e.ID())
	}
}
