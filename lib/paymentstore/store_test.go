package paymentstore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/storetest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type fixture struct {
	store *paymentstore.Store
	sink  *storetest.EventRecorder
}

func open(t *testing.T, e storetest.Engine) fixture {
	t.Helper()
	rec := storetest.NewEventRecorder(t)
	s, err := paymentstore.Open(context.Background(), e.Config(t, paymentstore.Database), sink.NewHTTP(rec.URL()), quiet())
	if err != nil {
		t.Fatal(err)
	}
	return fixture{store: s, sink: rec}
}

func newPayment(orderID string) paymentstore.Payment {
	return paymentstore.Payment{
		ID: ids.Derive(orderID, "payment"), OrderID: orderID, CustomerID: "cust-1",
		Amount: money.New(2500, "EUR"), Method: "card_visa", Gateway: "sandbox",
		ShippingAddress: events.Address{Line1: "1 Main St", City: "Town", PostalCode: "1000", Country: "BE"},
	}
}

func added(t *testing.T, p paymentstore.Payment) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.PaymentAddedData{
		PaymentID: p.ID, OrderID: p.OrderID, CustomerID: p.CustomerID, Amount: p.Amount, Method: p.Method, Gateway: p.Gateway, CreatedAt: time.Now().UTC(),
	})
	e.SetID(ids.Derive(p.ID, "PAYMENT_ADDED"))
	return e
}

func success(t *testing.T, p paymentstore.Payment) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.PaymentSuccessData{
		PaymentID: p.ID, OrderID: p.OrderID, TransactionID: "tx-1", Amount: p.Amount, Method: p.Method, PaidAt: time.Now().UTC(),
	})
	e.SetID(ids.Derive(p.ID, "PAYMENT_SUCCESS"))
	return e
}

func TestCreate(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		ctx := context.Background()
		f := open(t, engine)
		t.Run("first create records and publishes PAYMENT_ADDED", func(t *testing.T) {
			p := newPayment(ids.New())
			got, created, err := f.store.Create(ctx, p, added(t, p))
			if err != nil || !created || got.Status != paymentstore.Pending {
				t.Fatalf("Create = %+v, %v, %v", got, created, err)
			}
			evs := f.sink.WaitFor(t, 1, 5*time.Second)
			if evs[len(evs)-1].Type() != string(events.PaymentAdded) {
				t.Fatalf("published %s", evs[len(evs)-1].Type())
			}
			stored, err := f.store.Get(ctx, p.ID)
			if err != nil || stored.ShippingAddress != p.ShippingAddress || stored.Amount != p.Amount {
				t.Fatalf("Get = %+v, %v", stored, err)
			}
		})
		t.Run("second create returns the first payment and writes nothing", func(t *testing.T) {
			p := newPayment(ids.New())
			if _, _, err := f.store.Create(ctx, p, added(t, p)); err != nil {
				t.Fatal(err)
			}
			before := len(f.sink.Events())
			other := p
			other.Amount = money.New(1, "EUR")
			got, created, err := f.store.Create(ctx, other, added(t, other))
			if err != nil || created || got.Amount != p.Amount {
				t.Fatalf("repeat Create = %+v, %v, %v", got, created, err)
			}
			if n, err := f.store.Outbox().Relay(ctx, 10); err != nil || n != 0 {
				t.Fatalf("relay after a repeat sent %d, %v; want nothing pending", n, err)
			}
			if len(f.sink.Events()) != before {
				t.Fatal("a repeat Create published an event")
			}
		})
		t.Run("a cancelled order is not created", func(t *testing.T) {
			p := newPayment(ids.New())
			if _, found, err := f.store.CancelOrder(ctx, p.OrderID); err != nil || found {
				t.Fatalf("CancelOrder = %v, %v", found, err)
			}
			if _, _, err := f.store.Create(ctx, p, added(t, p)); !errors.Is(err, paymentstore.ErrOrderCancelled) {
				t.Fatalf("Create after cancel = %v, want ErrOrderCancelled", err)
			}
			if _, err := f.store.Get(ctx, p.ID); !errors.Is(err, paymentstore.ErrNotFound) {
				t.Fatalf("Get after refused create = %v, want ErrNotFound", err)
			}
		})
		t.Run("concurrent creates make one payment", func(t *testing.T) {
			p := newPayment(ids.New())
			var wg sync.WaitGroup
			var mu sync.Mutex
			createdCount, errs := 0, []error{}
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, created, err := f.store.Create(ctx, p, added(t, p))
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
					}
					if created {
						createdCount++
					}
				}()
			}
			wg.Wait()
			if len(errs) > 0 || createdCount != 1 {
				t.Fatalf("concurrent creates: %d created, errors %v", createdCount, errs)
			}
		})
	})
}

func TestClaimSettleRefund(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		ctx := context.Background()
		f := open(t, engine)
		p := newPayment(ids.New())
		if _, _, err := f.store.Create(ctx, p, added(t, p)); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name string
			do   func() error
		}{
			{"first claim wins", func() error { return wantClaim(f.store.Claim(ctx, p.ID, paymentstore.Pending, time.Minute)) }},
			{"second claim loses", func() error { return wantNoClaim(f.store.Claim(ctx, p.ID, paymentstore.Pending, time.Minute)) }},
			{"release frees it", func() error { return f.store.Release(ctx, p.ID, "tx-1") }},
			{"claim after release wins", func() error { return wantClaim(f.store.Claim(ctx, p.ID, paymentstore.Pending, time.Millisecond)) }},
			{"expired claim can be taken", func() error {
				time.Sleep(5 * time.Millisecond)
				return wantClaim(f.store.Claim(ctx, p.ID, paymentstore.Pending, time.Minute))
			}},
			{"refund before success changes nothing", func() error {
				_, err := f.store.MarkRefunded(ctx, p.ID, "re-1", success(t, p))
				return wantErr(err, paymentstore.ErrStateChanged)
			}},
			{"settle succeeds and keeps the reply", func() error {
				got, err := f.store.Settle(ctx, p.ID, paymentstore.Settlement{Status: paymentstore.Succeeded, TransactionID: "tx-1", Reply: success(t, p)})
				if err != nil {
					return err
				}
				if got.Status != paymentstore.Succeeded || got.ChargeReply == nil || got.ChargeReply.ID() != ids.Derive(p.ID, "PAYMENT_SUCCESS") {
					return errors.New("settled payment lacks status or reply")
				}
				return nil
			}},
			{"second settle is a state change", func() error {
				got, err := f.store.Settle(ctx, p.ID, paymentstore.Settlement{Status: paymentstore.Failed, Reply: success(t, p)})
				if got.Status != paymentstore.Succeeded {
					return errors.New("second settle changed the status")
				}
				return wantErr(err, paymentstore.ErrStateChanged)
			}},
			{"pending claim no longer possible", func() error { return wantNoClaim(f.store.Claim(ctx, p.ID, paymentstore.Pending, time.Minute)) }},
			{"refund once", func() error {
				got, err := f.store.MarkRefunded(ctx, p.ID, "re-1", success(t, p))
				if err == nil && (got.Status != paymentstore.Refunded || got.RefundID != "re-1" || got.RefundReply == nil) {
					return errors.New("refunded payment lacks status, refund id or reply")
				}
				return err
			}},
			{"refund twice is a state change", func() error {
				_, err := f.store.MarkRefunded(ctx, p.ID, "re-2", success(t, p))
				return wantErr(err, paymentstore.ErrStateChanged)
			}},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
	})
}

func TestListFilters(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		ctx := context.Background()
		f := open(t, engine)
		orders := []string{ids.New(), ids.New(), ids.New()}
		for i, o := range orders {
			p := newPayment(o)
			if i == 2 {
				p.CustomerID = "cust-2"
			}
			if _, _, err := f.store.Create(ctx, p, added(t, p)); err != nil {
				t.Fatal(err)
			}
		}
		cases := map[string]struct {
			f         paymentstore.Filter
			wantTotal int
		}{
			"all":              {paymentstore.Filter{}, 3},
			"one customer":     {paymentstore.Filter{CustomerID: "cust-1"}, 2},
			"one order":        {paymentstore.Filter{OrderID: orders[2]}, 1},
			"order of another": {paymentstore.Filter{CustomerID: "cust-1", OrderID: orders[2]}, 0},
			"unknown customer": {paymentstore.Filter{CustomerID: "nobody"}, 0},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				got, total, err := f.store.List(ctx, tc.f, 10, 0)
				if err != nil || total != tc.wantTotal || len(got) != tc.wantTotal {
					t.Fatalf("List(%+v) = %d items, total %d, %v; want %d", tc.f, len(got), total, err, tc.wantTotal)
				}
			})
		}
	})
}

func wantClaim(ok bool, err error) error {
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("claim refused")
	}
	return nil
}

func wantNoClaim(ok bool, err error) error {
	if err != nil {
		return err
	}
	if ok {
		return errors.New("claim granted twice")
	}
	return nil
}

func wantErr(err, target error) error {
	if !errors.Is(err, target) {
		return errors.New("got " + errString(err) + ", want " + target.Error())
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestCancelRacesCreate races the first charge of an order against its
// cancellation: whatever the interleaving, either the charge is refused
// or the cancellation sees the payment (and refunds it). A payment made
// while the cancellation saw none would be charged and never refunded.
func TestCancelRacesCreate(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		ctx := context.Background()
		f := open(t, engine)
		const orders = 30
		lost, refused, seen := 0, 0, 0
		for range orders {
			p := newPayment(ids.New())
			var created, found bool
			var createErr, cancelErr error
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, created, createErr = f.store.Create(ctx, p, added(t, p))
			}()
			go func() {
				defer wg.Done()
				_, found, cancelErr = f.store.CancelOrder(ctx, p.OrderID)
			}()
			wg.Wait()
			if cancelErr != nil {
				t.Fatal(cancelErr)
			}
			switch {
			case errors.Is(createErr, paymentstore.ErrOrderCancelled):
				refused++
			case createErr != nil:
				t.Fatal(createErr)
			case created && !found:
				lost++
			case found:
				seen++
			}
		}
		if lost > 0 {
			t.Fatalf("%d of %d orders were charged after a cancellation that saw no payment", lost, orders)
		}
		t.Logf("%d charges refused, %d seen by the cancellation", refused, seen)
	})
}
