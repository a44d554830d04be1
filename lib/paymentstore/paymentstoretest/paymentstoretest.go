// Package paymentstoretest gives the payment functions' tests what they
// share: a function started on the test's own database, and payments
// recorded in a given state the way charge-payment leaves them.
package paymentstoretest

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/payment"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

// Env is the cfg a payment function's Start reads for the test database
// sc: MYSQL_DSN, KNSHOP_SERIALIZE_DB when sc is serialized,
// PAYMENTS_DATABASE (sc's own database), K_SINK (the returned recorder), and
// extra on top.
func Env(t testing.TB, sc sqlstore.Config, extra map[string]string) (map[string]string, *storetest.EventRecorder) {
	t.Helper()
	rec := storetest.NewEventRecorder(t)
	cfg := sc.Env(paymentstore.Database)
	cfg["K_SINK"] = rec.URL()
	maps.Copy(cfg, extra)
	return cfg, rec
}

// Start starts function f on the test database sc with Env(sc, extra),
// stops it when the test ends, and returns its recording sink.
func Start(t testing.TB, f fn.Starter, sc sqlstore.Config, extra map[string]string) *storetest.EventRecorder {
	t.Helper()
	cfg, rec := Env(t, sc, extra)
	storetest.StartFunction(t, f, cfg)
	return rec
}

// Seed records p with its PAYMENT_ADDED, as charge-payment does, and brings
// it to status under the gateway's transaction id tx: PENDING keeps tx (when
// given) as the charge still processing; SUCCEEDED and FAILED (declined
// card) are settled with their stored charge reply. It returns p as stored.
func Seed(t testing.TB, s *paymentstore.Store, p paymentstore.Payment, status paymentstore.Status, tx string) paymentstore.Payment {
	t.Helper()
	ctx := context.Background()
	added, err := paymentstore.AddedEvent(ctx, "charge-payment", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, p, added); err != nil {
		t.Fatal(err)
	}
	if status == paymentstore.Pending {
		if tx != "" {
			if err := s.Release(ctx, p.ID, tx); err != nil {
				t.Fatal(err)
			}
			p.TransactionID = tx
		}
		return p
	}
	p.Status, p.TransactionID = status, tx
	if status == paymentstore.Failed {
		p.FailureCode = payment.CodeCardDeclined
	}
	reply, err := paymentstore.ChargeReply(ctx, "charge-payment", p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Settle(ctx, p.ID, paymentstore.Settlement{Status: status, TransactionID: tx, FailureCode: p.FailureCode, Reply: reply}); err != nil {
		t.Fatal(err)
	}
	return p
}

// Concurrently delivers e to f n times at once and returns the replies. A
// delivery refused with inFlight (another delivery holds the payment) is
// retried, as the Broker retries it, up to 50 times 10ms apart; any other
// error fails the test.
func Concurrently(t testing.TB, f fn.EventFunction, e event.Event, n int, inFlight error) []*event.Event {
	t.Helper()
	replies := make([]*event.Event, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				r, err := f.Handle(context.Background(), e)
				if errors.Is(err, inFlight) {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if err != nil {
					t.Error(err)
				}
				replies[i] = r
				return
			}
			t.Error("still in flight after 50 retries")
		}()
	}
	wg.Wait()
	return replies
}
