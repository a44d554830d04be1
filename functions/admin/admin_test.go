package admin

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/auth/authtest"
	"github.com/knshop/knshop/lib/deadletter"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/storetest"
)

type env struct {
	f    *Function
	srv  *httptest.Server
	sink *storetest.EventRecorder
	keys *authtest.Keys
}

func start(t *testing.T) *env {
	t.Helper()
	keys := authtest.New(t)
	rec := storetest.NewEventRecorder(t)
	sc := storetest.MySQL(t, "operations")
	f := New()
	storetest.Keep(t, func(ctx context.Context) error {
		return f.startWith(ctx, Config{Store: sc, Auth: keys.Config, Sink: rec.URL()})
	})
	inst, err := fn.NewInstance("admin", f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(inst)
	t.Cleanup(srv.Close) // before Keep's cleanup closes the stores
	return &env{f: f, srv: srv, sink: rec, keys: keys}
}

// letter stores a dead letter the way the dead-letter sink does.
func (e *env) letter(t *testing.T, id string) deadletter.Letter {
	t.Helper()
	ev := event.New()
	ev.SetID(id)
	ev.SetType("PAYMENT_SUCCESS")
	ev.SetSource("/knshop/charge-payment")
	ev.SetExtension("partitionkey", "order-1")
	if err := ev.SetData(event.ApplicationJSON, map[string]any{"orderId": "order-1"}); err != nil {
		t.Fatal(err)
	}
	ev.SetExtension(deadletter.ExtErrorDest, "http://start-delivery.knshop.svc")
	ev.SetExtension(deadletter.ExtErrorCode, "500")
	ev.SetExtension(deadletter.ExtErrorData, base64.StdEncoding.EncodeToString([]byte("database down")))
	l := deadletter.LetterFrom(ev, time.Now())
	if _, err := e.f.store.Add(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return l
}

func (e *env) call(t *testing.T, method, path, authz string) (int, map[string]any) {
	t.Helper()
	a := storetest.Call(t, method, e.srv.URL+path, authz, "")
	return a.Status, storetest.JSONOf[map[string]any](t, a)
}

func TestDeadLetterRoutes(t *testing.T) {
	e := start(t)
	l := e.letter(t, "ev-1")
	admin := e.keys.Bearer(t, "admin-1", auth.Admin)
	customer := e.keys.Bearer(t, "cust-1", auth.Customer)
	replayPath := "/api/admin/dead-letters/" + l.ID + "/replay"
	cases := []struct {
		name, method, path, authz string
		sinkStatus                int
		want                      int
		wantSent                  int
	}{
		{"list without a token is 401", "GET", "/api/admin/dead-letters", "", 0, 401, 0},
		{"list as a customer is 403", "GET", "/api/admin/dead-letters", customer, 0, 403, 0},
		{"list with a bad limit is 400", "GET", "/api/admin/dead-letters?limit=1000", admin, 0, 400, 0},
		{"list as admin is 200", "GET", "/api/admin/dead-letters", admin, 0, 200, 0},
		{"replay as a courier is 403", "POST", replayPath, e.keys.Bearer(t, "c", auth.Courier), 0, 403, 0},
		{"replay of an unknown letter is 404", "POST", "/api/admin/dead-letters/nope/replay", admin, 0, 404, 0},
		{"replay while the broker is down is 502", "POST", replayPath, admin, 503, 502, 0},
		{"replay as admin is 202", "POST", replayPath, admin, 0, 202, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.sink.FailWith(tc.sinkStatus)
			defer e.sink.FailWith(0)
			status, body := e.call(t, tc.method, tc.path, tc.authz)
			if status != tc.want {
				t.Fatalf("status = %d, want %d (%v)", status, tc.want, body)
			}
			if n := len(e.sink.Events()); n != tc.wantSent {
				t.Fatalf("%d events sent, want %d", n, tc.wantSent)
			}
			got, err := e.f.store.Get(context.Background(), l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if replayed := got.ReplayedAt != nil; replayed != (tc.wantSent > 0) {
				t.Fatalf("replayedAt = %v after %q", got.ReplayedAt, tc.name)
			}
		})
	}

	t.Run("the list shows the decoded extensions and the replay", func(t *testing.T) {
		status, body := e.call(t, "GET", "/api/admin/dead-letters?page=1&limit=10", admin)
		items := body["items"].([]any)
		if status != 200 || body["total"] != 1.0 || len(items) != 1 {
			t.Fatalf("list = %d %v", status, body)
		}
		item := items[0].(map[string]any)
		ev := item["event"].(map[string]any)
		if item["knativeerrordata"] != "database down" || item["knativeerrorcode"] != 500.0 ||
			item["knativeerrordest"] != "http://start-delivery.knshop.svc" || item["replayedAt"] == nil ||
			ev["id"] != "ev-1" || ev["knativeerrordest"] != nil {
			t.Fatalf("item = %v", item)
		}
	})
	t.Run("the replayed event is the original", func(t *testing.T) {
		sent := e.sink.Events()[0]
		if sent.ID() != "ev-1" || sent.Type() != "PAYMENT_SUCCESS" || sent.Extensions()["partitionkey"] != "order-1" ||
			string(sent.Data()) != string(l.Event.Data()) {
			t.Fatalf("sent = %v", sent)
		}
		for _, k := range []string{deadletter.ExtErrorDest, deadletter.ExtErrorCode, deadletter.ExtErrorData} {
			if _, ok := sent.Extensions()[k]; ok {
				t.Fatalf("replayed event carries %s", k)
			}
		}
	})
}

func TestOpenAPIIsPublic(t *testing.T) {
	e := start(t)
	status, body := e.call(t, "GET", "/api/openapi.json", "")
	if status != 200 || body["openapi"] == nil || body["paths"] == nil {
		t.Fatalf("openapi = %d %v", status, body)
	}
	paths := body["paths"].(map[string]any)
	if paths["/api/admin/dead-letters"] == nil || paths["/api/deliveries/{id}/events"] == nil {
		t.Fatalf("the document lacks the operations or deliveries routes: %v", paths)
	}
}

// failingAgain is a Broker whose subscriber fails the replayed event at once:
// its dead letter arrives before the replay request has ended.
type failingAgain struct {
	t     *testing.T
	store *deadletter.Store
}

func (s failingAgain) Send(ctx context.Context, e event.Event) error {
	e.SetExtension(deadletter.ExtErrorDest, "http://start-delivery.knshop.svc")
	e.SetExtension(deadletter.ExtErrorCode, "500")
	if _, err := s.store.Add(ctx, deadletter.LetterFrom(e, time.Now())); err != nil {
		s.t.Error(err)
	}
	return nil
}

// A replayed event that fails again before the replay request ends is a
// second arrival of its letter, not lost: the replay marks the letter
// before it sends.
func TestReplayThatFailsAtOnceIsASecondArrival(t *testing.T) {
	e := start(t)
	l := e.letter(t, "ev-fast")
	e.f.sink = failingAgain{t: t, store: e.f.store}
	if code, _ := e.call(t, "POST", "/api/admin/dead-letters/"+l.ID+"/replay", e.keys.Bearer(t, "admin-1", auth.Admin)); code != 202 {
		t.Fatalf("replay answered %d", code)
	}
	got, err := e.f.store.Get(context.Background(), l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Arrivals != 2 || got.ReplayedAt != nil {
		t.Fatalf("letter after a replay that failed at once: %d arrivals, replayed at %v; want 2 and open again", got.Arrivals, got.ReplayedAt)
	}
}
