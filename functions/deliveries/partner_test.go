package deliveries

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/broker/brokertest"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/deliverystore/deliverystoretest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/partner"
	"github.com/knshop/knshop/lib/storetest"
)

// TestSandboxPartnerDeliversByItself subscribes the sandbox partner to a
// delivery's DELIVERY_STARTED and lets it drive the started deliveries
// function to DELIVERED.
func TestSandboxPartnerDeliversByItself(t *testing.T) {
	e := start(t, storetest.MySQL(t, "deliveries"))
	d := e.delivery(t, "cust-1", "")
	sb := partner.New(e.srv.URL, []byte(secret), 20*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer sb.Close()
	psrv := httptest.NewServer(sb)
	defer psrv.Close()

	resp := brokertest.Send(t, psrv.URL, deliverystoretest.Started(t, d))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("partner answered %d", resp.StatusCode)
	}
	evs := e.sink.WaitFor(t, 2, 5*time.Second)
	if evs[0].Type() != string(events.DeliveryCourieredPartner) || evs[1].Type() != string(events.DeliveryCompleted) {
		t.Fatalf("events = %s, %s", evs[0].Type(), evs[1].Type())
	}
	got, err := e.f.store.Get(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != deliverystore.Delivered || got.TrackingNumber == "" {
		t.Fatalf("delivery = %+v", got)
	}
}
