package deliveries

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/auth/authtest"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/deliverystore/deliverystoretest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/partner"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

const secret = "partner-test-secret"

// env is a started deliveries function behind a test server, with a sink
// that records what it publishes.
type env struct {
	f    *Function
	srv  *httptest.Server
	sink *storetest.EventRecorder
	keys *authtest.Keys
}

func start(t *testing.T, sc sqlstore.Config) *env {
	t.Helper()
	keys := authtest.New(t)
	rec := storetest.NewEventRecorder(t)
	cfg := map[string]string{"MYSQL_DSN": sc.DSN, "K_SINK": rec.URL(), "PARTNER_WEBHOOK_SECRET": secret}
	for k, v := range keys.Env {
		cfg[k] = v
	}
	c, err := ConfigFrom(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Store = sc // the test's own database
	f := New()
	storetest.Keep(t, func(ctx context.Context) error { return f.startWith(ctx, c) })
	inst, err := fn.NewInstance(Name, f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(inst)
	t.Cleanup(srv.Close) // before Keep's cleanup closes the stores
	return &env{f: f, srv: srv, sink: rec, keys: keys}
}

// delivery creates a delivery for a new order of customer, assigned to courier.
func (e *env) delivery(t *testing.T, customer, courier string) deliverystore.Delivery {
	t.Helper()
	d, reply := deliverystoretest.NewDelivery(t, ids.New(), customer, courier)
	if _, _, err := e.f.store.Create(context.Background(), d, reply); err != nil {
		t.Fatal(err)
	}
	return d
}

// call sends a request; auth is an Authorization value, or "sign" to sign
// the body as the partner, or "badsign" for a wrong signature.
func (e *env) call(t *testing.T, method, path, authz, body string) (int, map[string]any) {
	t.Helper()
	header := []string{"Content-Type", "application/json"}
	switch authz {
	case "":
	case "sign":
		header = append(header, partner.SignatureHeader, partner.Sign([]byte(secret), []byte(body)))
	case "badsign":
		header = append(header, partner.SignatureHeader, partner.Sign([]byte("other"), []byte(body)))
	default:
		header = append(header, "Authorization", authz)
	}
	a := storetest.Call(t, method, e.srv.URL+path, "", body, header...)
	var out map[string]any
	if len(a.Body) > 0 {
		out = storetest.JSONOf[map[string]any](t, a)
	}
	return a.Status, out
}

func TestReads(t *testing.T) {
	e := start(t, storetest.MySQL(t, "deliveries"))
	d := e.delivery(t, "cust-1", "courier-1")
	e.delivery(t, "cust-3", "courier-3") // someone else's
	byID, byOrder := "/api/deliveries/"+d.ID, "/api/deliveries?orderId="+d.OrderID
	const object = -1 // the answer is one delivery, not a list
	cases := map[string]struct {
		path, authz string
		want        int
		wantTotal   int
	}{
		"owner reads by id":                         {byID, e.keys.Bearer(t, "cust-1", auth.Customer), 200, object},
		"assigned courier reads by id":              {byID, e.keys.Bearer(t, "courier-1", auth.Courier), 200, object},
		"admin reads by id":                         {byID, e.keys.Bearer(t, "admin-1", auth.Admin), 200, object},
		"another customer gets 404":                 {byID, e.keys.Bearer(t, "cust-2", auth.Customer), 404, 0},
		"another courier gets 404":                  {byID, e.keys.Bearer(t, "courier-2", auth.Courier), 404, 0},
		"a seller gets 404":                         {byID, e.keys.Bearer(t, "seller-1", auth.Seller), 404, 0},
		"no token gets 401":                         {byID, "", 401, 0},
		"a forged token gets 401":                   {byID, authtest.New(t).Bearer(t, "cust-1", auth.Customer), 401, 0},
		"unknown delivery gets 404":                 {"/api/deliveries/" + ids.New(), e.keys.Bearer(t, "admin-1", auth.Admin), 404, 0},
		"owner lists by order":                      {byOrder, e.keys.Bearer(t, "cust-1", auth.Customer), 200, 1},
		"admin lists by order":                      {byOrder, e.keys.Bearer(t, "admin-1", auth.Admin), 200, 1},
		"admin lists all":                           {"/api/deliveries", e.keys.Bearer(t, "admin-1", auth.Admin), 200, 2},
		"assigned courier lists theirs":             {"/api/deliveries", e.keys.Bearer(t, "courier-1", auth.Courier), 200, 1},
		"another customer's list by order is empty": {byOrder, e.keys.Bearer(t, "cust-2", auth.Customer), 200, 0},
		"another courier's list is empty":           {"/api/deliveries", e.keys.Bearer(t, "courier-2", auth.Courier), 200, 0},
		"a bad limit is 400":                        {byOrder + "&limit=0", e.keys.Bearer(t, "cust-1", auth.Customer), 400, 0},
		"list without a token is 401":               {byOrder, "", 401, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, body := e.call(t, http.MethodGet, tc.path, tc.authz, "")
			if status != tc.want {
				t.Fatalf("status = %d, want %d (%v)", status, tc.want, body)
			}
			if status != 200 {
				return
			}
			item := body
			if tc.wantTotal != object {
				items := body["items"].([]any)
				if body["total"] != float64(tc.wantTotal) || len(items) != tc.wantTotal {
					t.Fatalf("list = %v, want %d items", body, tc.wantTotal)
				}
				if tc.wantTotal != 1 {
					return
				}
				item = items[0].(map[string]any)
			}
			if item["id"] != d.ID || item["orderId"] != d.OrderID || item["status"] != "STARTED" ||
				item["trackingNumber"] != nil || len(item["history"].([]any)) != 1 {
				t.Fatalf("delivery = %v", item)
			}
		})
	}
}

// TestSteps walks one delivery through a sequence of requests; every step
// states the answer, the status after it and how many events went out.
func TestSteps(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		e := start(t, engine.Config(t, "deliveries"))
		d := e.delivery(t, "cust-1", "courier-1")
		path := "/api/deliveries/" + d.ID + "/events"
		steps := []struct {
			name, authz, body string
			want              int
			wantStatus        string
			wantEvents        int
		}{
			{"no token or signature is 401", "", `{"status":"COURIERED"}`, 401, "STARTED", 0},
			{"a wrong signature is 401", "badsign", `{"status":"COURIERED"}`, 401, "STARTED", 0},
			{"the order's customer may not step it: 403", e.keys.Bearer(t, "cust-1", auth.Customer), `{"status":"COURIERED"}`, 403, "STARTED", 0},
			{"another customer gets 404", e.keys.Bearer(t, "cust-2", auth.Customer), `{"status":"COURIERED"}`, 404, "STARTED", 0},
			{"an unassigned courier gets 404", e.keys.Bearer(t, "courier-2", auth.Courier), `{"status":"COURIERED"}`, 404, "STARTED", 0},
			{"an unknown status is 400", "sign", `{"status":"LOST"}`, 400, "STARTED", 0},
			{"an unknown field is 400", "sign", `{"status":"COURIERED","x":1}`, 400, "STARTED", 0},
			{"a bad tracking number is 400", "sign", `{"status":"COURIERED","trackingNumber":"a b"}`, 400, "STARTED", 0},
			{"a tracking number of 3 characters is 400", "sign", `{"status":"COURIERED","trackingNumber":"abc"}`, 400, "STARTED", 0},
			{"a tracking number of 65 characters is 400", "sign", `{"status":"COURIERED","trackingNumber":"` + strings.Repeat("a", 65) + `"}`, 400, "STARTED", 0},
			{"DELIVERED before COURIERED is 409", "sign", `{"status":"DELIVERED"}`, 409, "STARTED", 0},
			{"the signed partner couriers it", "sign", `{"status":"COURIERED"}`, 202, "COURIERED", 1},
			{"repeating COURIERED is 202 and sends the same event again", "sign", `{"status":"COURIERED"}`, 202, "COURIERED", 1},
			{"the assigned courier delivers it", e.keys.Bearer(t, "courier-1", auth.Courier), `{"status":"DELIVERED"}`, 202, "DELIVERED", 2},
			{"repeating DELIVERED is 202 and sends the same event again", e.keys.Bearer(t, "admin-1", auth.Admin), `{"status":"DELIVERED"}`, 202, "DELIVERED", 2},
			{"going back to COURIERED is 409", "sign", `{"status":"COURIERED"}`, 409, "DELIVERED", 2},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				status, body := e.call(t, http.MethodPost, path, s.authz, s.body)
				if status != s.want {
					t.Fatalf("status = %d, want %d (%v)", status, s.want, body)
				}
				got, err := e.f.store.Get(context.Background(), d.ID)
				if err != nil {
					t.Fatal(err)
				}
				if string(got.Status) != s.wantStatus {
					t.Fatalf("delivery is %s, want %s", got.Status, s.wantStatus)
				}
				if n := len(distinct(e.sink.Events())); n != s.wantEvents {
					t.Fatalf("%d different events published, want %d", n, s.wantEvents)
				}
			})
		}
		evs := distinct(e.sink.Events())
		var couriered events.DeliveryCourieredPartnerData
		var completed events.DeliveryCompletedData
		if err := events.Decode(evs[0], &couriered); err != nil {
			t.Fatal(err)
		}
		if err := events.Decode(evs[1], &completed); err != nil {
			t.Fatal(err)
		}
		if couriered.OrderID != d.OrderID || couriered.TrackingNumber != trackingNumber(d.ID) || completed.DeliveryID != d.ID {
			t.Fatalf("events = %+v, %+v", couriered, completed)
		}
		if evs[0].ID() != ids.Derive(d.OrderID, "DELIVERY_COURIERED_PARTNER") || evs[0].Extensions()[events.ExtPartitionKey] != d.OrderID {
			t.Fatalf("courier event id %s, partitionkey %v", evs[0].ID(), evs[0].Extensions()[events.ExtPartitionKey])
		}
		status, body := e.call(t, http.MethodGet, "/api/deliveries/"+d.ID, e.keys.Bearer(t, "cust-1", auth.Customer), "")
		if status != 200 || body["status"] != "DELIVERED" || body["trackingNumber"] != trackingNumber(d.ID) || len(body["history"].([]any)) != 3 {
			t.Fatalf("read after the steps: %d %v", status, body)
		}
	})
}

func TestPartnerTrackingNumberIsKept(t *testing.T) {
	e := start(t, storetest.MySQL(t, "deliveries"))
	d := e.delivery(t, "cust-1", "")
	status, body := e.call(t, http.MethodPost, "/api/deliveries/"+d.ID+"/events", "sign", `{"status":"COURIERED","trackingNumber":"1z-999"}`)
	if status != 202 || body["trackingNumber"] != "1Z-999" {
		t.Fatalf("answer %d %v", status, body)
	}
}

func TestConcurrentStepsSendOneEvent(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		e := start(t, engine.Config(t, "deliveries"))
		d := e.delivery(t, "cust-1", "")
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := `{"status":"COURIERED"}`
				req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/api/deliveries/"+d.ID+"/events", bytes.NewBufferString(body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set(partner.SignatureHeader, partner.Sign([]byte(secret), []byte(body)))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				statuses[i] = resp.StatusCode
				if err := resp.Body.Close(); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for i, s := range statuses {
			if s != 202 {
				t.Fatalf("request %d answered %d", i, s)
			}
		}
		if n := len(distinct(e.sink.Events())); n != 1 {
			t.Fatalf("%d different events published, want 1", n)
		}
	})
}

func TestBrokerDownLeavesTheEventForTheRelay(t *testing.T) {
	e := start(t, storetest.MySQL(t, "deliveries"))
	d := e.delivery(t, "cust-1", "")
	e.sink.FailWith(http.StatusServiceUnavailable)
	if status, body := e.call(t, http.MethodPost, "/api/deliveries/"+d.ID+"/events", "sign", `{"status":"COURIERED"}`); status != 202 {
		t.Fatalf("step answered %d %v while the broker is down; the change is committed, so 202", status, body)
	}
	if n := len(e.sink.Events()); n != 0 {
		t.Fatalf("%d events arrived at a failing sink", n)
	}
	e.sink.FailWith(0)
	// What relay-outbox does: an outbox of the same database, to the sink.
	relay := outbox.NewSQL(e.f.store.DB(), sink.NewHTTP(e.sink.URL()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	sent, err := relay.Relay(context.Background(), 10)
	if err != nil || sent != 1 {
		t.Fatalf("relay sent %d, %v; want 1", sent, err)
	}
	if evs := e.sink.Events(); len(evs) != 1 || evs[0].Type() != string(events.DeliveryCourieredPartner) {
		t.Fatalf("after the relay: %v", evs)
	}
}

// distinct keeps the first of each event id: a repeated step publishes the
// same event (same id) again, which consumers drop.
func distinct(evs []event.Event) []event.Event {
	seen := map[string]bool{}
	var out []event.Event
	for _, e := range evs {
		if !seen[e.ID()] {
			seen[e.ID()] = true
			out = append(out, e)
		}
	}
	return out
}
