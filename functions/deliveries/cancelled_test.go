package deliveries

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/broker/brokertest"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/deliverystore/deliverystoretest"
	"github.com/knshop/knshop/lib/partner"
	"github.com/knshop/knshop/lib/storetest"
)

// TestCancelledDeliveryRefusesSteps: once its order is cancelled, no caller
// moves a delivery on: 409, the delivery stays CANCELLED, nothing is sent;
// readers still see it, CANCELLED, with its history.
func TestCancelledDeliveryRefusesSteps(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		e := start(t, engine.Config(t, "deliveries"))
		d := e.delivery(t, "cust-1", "courier-1")
		if _, err := e.f.store.CancelOrder(context.Background(), d.OrderID, "customer_request", time.Now()); err != nil {
			t.Fatal(err)
		}
		path := "/api/deliveries/" + d.ID + "/events"
		cases := map[string]struct {
			authz, body string
			want        int
		}{
			"partner couriers it":               {"sign", `{"status":"COURIERED"}`, 409},
			"partner delivers it":               {"sign", `{"status":"DELIVERED"}`, 409},
			"assigned courier couriers it":      {e.keys.Bearer(t, "courier-1", auth.Courier), `{"status":"COURIERED"}`, 409},
			"admin delivers it":                 {e.keys.Bearer(t, "admin-1", auth.Admin), `{"status":"DELIVERED"}`, 409},
			"another customer still gets 404":   {e.keys.Bearer(t, "cust-2", auth.Customer), `{"status":"COURIERED"}`, 404},
			"the owner still gets 403":          {e.keys.Bearer(t, "cust-1", auth.Customer), `{"status":"COURIERED"}`, 403},
			"no token or signature is 401":      {"", `{"status":"COURIERED"}`, 401},
			"CANCELLED is no status to ask for": {"sign", `{"status":"CANCELLED"}`, 400},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				status, body := e.call(t, http.MethodPost, path, tc.authz, tc.body)
				if status != tc.want {
					t.Fatalf("status = %d, want %d (%v)", status, tc.want, body)
				}
				if tc.want == 409 && !strings.Contains(body["detail"].(string), "cancelled") {
					t.Fatalf("detail = %v", body["detail"])
				}
				got, err := e.f.store.Get(context.Background(), d.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != deliverystore.Cancelled {
					t.Fatalf("delivery is %s, want CANCELLED", got.Status)
				}
				if n := len(e.sink.Events()); n != 0 {
					t.Fatalf("%d events published, want none", n)
				}
			})
		}
		status, body := e.call(t, http.MethodGet, "/api/deliveries?orderId="+d.OrderID, e.keys.Bearer(t, "cust-1", auth.Customer), "")
		items, _ := body["items"].([]any)
		if status != 200 || len(items) != 1 {
			t.Fatalf("list: %d %v", status, body)
		}
		item := items[0].(map[string]any)
		history := item["history"].([]any)
		if item["status"] != "CANCELLED" || len(history) != 2 || history[1].(map[string]any)["status"] != "CANCELLED" {
			t.Fatalf("listed delivery = %v", item)
		}
	})
}

// TestSandboxPartnerStopsOnCancelledDelivery: the sandbox partner takes the
// DELIVERY_STARTED of a delivery cancelled meanwhile, is refused with 409
// on its first step, and neither retries it nor tries the next step.
func TestSandboxPartnerStopsOnCancelledDelivery(t *testing.T) {
	e := start(t, storetest.MySQL(t, "deliveries"))
	d := e.delivery(t, "cust-1", "")
	if _, err := e.f.store.CancelOrder(context.Background(), d.OrderID, "customer_request", time.Now()); err != nil {
		t.Fatal(err)
	}
	var posts, conflicts atomic.Int32
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		rec := httptest.NewRecorder()
		e.srv.Config.Handler.ServeHTTP(rec, r)
		if rec.Code == http.StatusConflict {
			conflicts.Add(1)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		if _, err := w.Write(rec.Body.Bytes()); err != nil {
			t.Error(err)
		}
	}))
	defer counting.Close()
	sb := partner.New(counting.URL, []byte(secret), 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	psrv := httptest.NewServer(sb)
	defer psrv.Close()

	resp := brokertest.Send(t, psrv.URL, deliverystoretest.Started(t, d))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("partner answered %d", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for posts.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Long enough for every retry (200ms backoff, doubling) and the next
	// step (10ms later) had the partner not taken the 409 as final.
	time.Sleep(700 * time.Millisecond)
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	if posts.Load() != 1 || conflicts.Load() != 1 {
		t.Fatalf("partner posted %d steps (%d refused with 409), want exactly 1 refused", posts.Load(), conflicts.Load())
	}
	if n := len(e.sink.Events()); n != 0 {
		t.Fatalf("%d events published, want none", n)
	}
}
