package deliveries

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/knshop/knshop/lib/deliverystore"
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

	started, err := events.New(context.Background(), "start-delivery", events.DeliveryStartedData{
		DeliveryID: d.ID, OrderID: d.OrderID, Address: d.Address, Partner: d.Partner, StartedAt: d.CreatedAt})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, psrv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cehttp.WriteRequest(context.Background(), binding.ToMessage(&started), req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
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
