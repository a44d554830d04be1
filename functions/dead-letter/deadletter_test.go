package deadletter

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/broker/brokertest"
	"github.com/knshop/knshop/lib/deadletter"
	"github.com/knshop/knshop/lib/opsdb"
	"github.com/knshop/knshop/lib/storetest"
)

func deadLettered(id, dest string) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetType("PAYMENT_SUCCESS")
	e.SetSource("/knshop/charge-payment")
	e.SetExtension(deadletter.ExtErrorDest, dest)
	e.SetExtension(deadletter.ExtErrorCode, "500")
	e.SetExtension(deadletter.ExtErrorData, base64.StdEncoding.EncodeToString([]byte("transient failure")))
	return e
}

func TestDeadLetterSink(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		f := New()
		srv := httptest.NewServer(storetest.StartFunction(t, f, engine.Config(t, opsdb.Database).Env(opsdb.Database)))
		defer srv.Close()

		cases := []struct {
			name       string
			send       []event.Event
			concurrent bool
			wantTotal  int
		}{
			{"a dead-lettered event is stored", []event.Event{deadLettered("e-1", "http://start-delivery")}, false, 1},
			{"the same arrival again is stored once", []event.Event{deadLettered("e-1", "http://start-delivery")}, false, 1},
			{"the same event failed by another subscriber is its own letter", []event.Event{deadLettered("e-1", "http://confirm-order")}, false, 2},
			{"concurrent arrivals are stored once", []event.Event{
				deadLettered("e-2", "http://x"), deadLettered("e-2", "http://x"), deadLettered("e-2", "http://x"), deadLettered("e-2", "http://x"),
			}, true, 3},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var wg sync.WaitGroup
				for _, e := range tc.send {
					wg.Add(1)
					run := func() {
						defer wg.Done()
						if got := brokertest.Send(t, srv.URL, e).StatusCode; got != http.StatusNoContent {
							t.Errorf("status = %d, want 204", got)
						}
					}
					if tc.concurrent {
						go run()
					} else {
						run()
					}
				}
				wg.Wait()
				_, total, err := f.Opened().List(context.Background(), 0, 10)
				if err != nil || total != tc.wantTotal {
					t.Fatalf("total = %d, %v; want %d", total, err, tc.wantTotal)
				}
			})
		}
	})
}
