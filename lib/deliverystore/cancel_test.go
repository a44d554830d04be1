package deliverystore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/deliverystore/deliverystoretest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/storetest"
)

// open migrates a fresh deliveries database on engine.
func open(t *testing.T, engine storetest.Engine) (*deliverystore.Store, *sql.DB) {
	t.Helper()
	s := deliverystoretest.Open(t, engine.Config(t, "deliveries"))
	return s, s.DB()
}

// newDelivery is a delivery of a new order and the DELIVERY_STARTED that
// answers it.
func newDelivery(t *testing.T) (deliverystore.Delivery, event.Event) {
	return deliverystoretest.NewDelivery(t, ids.New(), "cust-1", "")
}

func stepEvent(deliverystore.Delivery) (event.Event, error) {
	return events.New(context.Background(), "deliveries", events.DeliveryCompletedData{
		DeliveryID: "d", OrderID: "o", CompletedAt: time.Now().UTC()})
}

func allowAll(deliverystore.Delivery) error { return nil }

// created is a delivery of a new order, stored (STARTED).
func created(t *testing.T, store *deliverystore.Store) deliverystore.Delivery {
	t.Helper()
	d, reply := newDelivery(t)
	if _, _, err := store.Create(context.Background(), d, reply); err != nil {
		t.Fatal(err)
	}
	return d
}

// rows counts the deliveries and the history entries of an order.
func rows(t *testing.T, db *sql.DB, orderID string) (deliveries, history int) {
	t.Helper()
	ctx := context.Background()
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM deliveries WHERE order_id = ?", orderID).Scan(&deliveries); err != nil {
		t.Fatal(err)
	}
	// The history entries the delivery's row holds (its history column).
	var raw []byte
	err := db.QueryRowContext(ctx, "SELECT history FROM deliveries WHERE order_id = ?", orderID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return deliveries, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		t.Fatal(err)
	}
	return deliveries, len(entries)
}

func TestCancelOrder(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		store, db := open(t, engine)
		ctx := context.Background()
		cases := map[string]struct {
			before      []deliverystore.Status // steps taken before the cancellation; nil: no delivery
			want        deliverystore.CancelOutcome
			wantStatus  deliverystore.Status
			wantHistory int
		}{
			"no delivery yet leaves a tombstone": {want: deliverystore.NoDelivery},
			"started delivery is cancelled": {before: []deliverystore.Status{deliverystore.Started},
				want: deliverystore.CancelledNow, wantStatus: deliverystore.Cancelled, wantHistory: 2},
			"couriered delivery goes on": {before: []deliverystore.Status{deliverystore.Started, deliverystore.Couriered},
				want: deliverystore.TooLate, wantStatus: deliverystore.Couriered, wantHistory: 2},
			"delivered delivery stays delivered": {before: []deliverystore.Status{deliverystore.Started, deliverystore.Couriered, deliverystore.Delivered},
				want: deliverystore.TooLate, wantStatus: deliverystore.Delivered, wantHistory: 3},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				d, reply := newDelivery(t)
				if tc.before != nil {
					if _, created, err := store.Create(ctx, d, reply); err != nil || !created {
						t.Fatalf("Create = %v, %v", created, err)
					}
					for _, st := range tc.before[1:] {
						if _, _, err := store.Advance(ctx, d.ID, deliverystore.Step{To: st, At: time.Now()}, allowAll, stepEvent); err != nil {
							t.Fatal(err)
						}
					}
				}
				for attempt := 1; attempt <= 2; attempt++ {
					c, err := store.CancelOrder(ctx, d.OrderID, "customer_request", time.Now())
					if err != nil {
						t.Fatal(err)
					}
					want := tc.want
					if attempt == 2 && want == deliverystore.CancelledNow {
						want = deliverystore.AlreadyCancelled
					}
					if c.Outcome != want {
						t.Fatalf("attempt %d: outcome = %s, want %s", attempt, c.Outcome, want)
					}
					if tc.before != nil && c.Delivery.Status != tc.wantStatus {
						t.Fatalf("attempt %d: delivery status = %s, want %s", attempt, c.Delivery.Status, tc.wantStatus)
					}
				}
				n, h := rows(t, db, d.OrderID)
				if tc.before == nil {
					if n != 0 {
						t.Fatalf("%d deliveries, want none", n)
					}
				} else {
					got, err := store.ByOrder(ctx, d.OrderID)
					if err != nil {
						t.Fatal(err)
					}
					if got.Status != tc.wantStatus || h != tc.wantHistory || len(got.History) != tc.wantHistory {
						t.Fatalf("stored %s with %d history rows (%v), want %s with %d", got.Status, h, got.History, tc.wantStatus, tc.wantHistory)
					}
					if tc.want == deliverystore.CancelledNow && got.History[len(got.History)-1].Status != deliverystore.Cancelled {
						t.Fatalf("last history entry = %v", got.History)
					}
				}
				if ok, err := store.OrderCancelled(ctx, d.OrderID); err != nil || !ok {
					t.Fatalf("OrderCancelled = %v, %v", ok, err)
				}
				// Whatever happened, a later (re)delivered start creates nothing.
				if _, _, err := store.Create(ctx, d, reply); !errors.Is(err, deliverystore.ErrOrderCancelled) {
					t.Fatalf("Create after the cancellation = %v, want ErrOrderCancelled", err)
				}
				if n2, h2 := rows(t, db, d.OrderID); n2 != n || h2 != h {
					t.Fatalf("Create changed rows: %d/%d -> %d/%d", n, h, n2, h2)
				}
			})
		}
	})
}

// TestCancelledDeliveryTakesNoStep: neither COURIERED nor DELIVERED can
// follow CANCELLED, and nothing goes to the outbox.
func TestCancelledDeliveryTakesNoStep(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		store, db := open(t, engine)
		ctx := context.Background()
		d := created(t, store)
		if _, err := store.CancelOrder(ctx, d.OrderID, "user_deleted", time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, to := range []deliverystore.Status{deliverystore.Couriered, deliverystore.Delivered, deliverystore.Started} {
			t.Run(string(to), func(t *testing.T) {
				_, evs, err := store.Advance(ctx, d.ID, deliverystore.Step{To: to, At: time.Now()}, allowAll, stepEvent)
				if !errors.Is(err, deliverystore.ErrCancelled) || len(evs) != 0 {
					t.Fatalf("Advance to %s = %v, %d events; want ErrCancelled", to, err, len(evs))
				}
			})
		}
		var out int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox").Scan(&out); err != nil {
			t.Fatal(err)
		}
		if out != 0 {
			t.Fatalf("%d events in the outbox, want none", out)
		}
	})
}

// TestConcurrentCancellations: eight deliveries of the same ORDER_CANCELLED
// at once cancel the delivery once.
func TestConcurrentCancellations(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		store, db := open(t, engine)
		ctx := context.Background()
		d := created(t, store)
		const n = 8
		outcomes := make([]deliverystore.CancelOutcome, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var c deliverystore.Cancellation
				c, errs[i] = store.CancelOrder(ctx, d.OrderID, "customer_request", time.Now())
				outcomes[i] = c.Outcome
			}()
		}
		wg.Wait()
		now := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			switch outcomes[i] {
			case deliverystore.CancelledNow:
				now++
			case deliverystore.AlreadyCancelled:
			default:
				t.Fatalf("outcome %d = %s", i, outcomes[i])
			}
		}
		if now != 1 {
			t.Fatalf("%d calls cancelled the delivery, want 1", now)
		}
		if _, h := rows(t, db, d.OrderID); h != 2 {
			t.Fatalf("%d history rows, want 2 (STARTED, CANCELLED)", h)
		}
	})
}

// TestCancelRacesCreate races the creation of an order's delivery against
// the order's cancellation, 30 times per engine: whatever the interleaving,
// the order ends with no delivery or a CANCELLED one. A STARTED delivery
// left behind would be couriered for a cancelled, refunded order.
func TestCancelRacesCreate(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		store, db := open(t, engine)
		ctx := context.Background()
		const orders = 30
		refused, cancelled := 0, 0
		for range orders {
			d, reply := newDelivery(t)
			var (
				created              bool
				createErr, cancelErr error
				c                    deliverystore.Cancellation
				wg                   sync.WaitGroup
			)
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, created, createErr = store.Create(ctx, d, reply)
			}()
			go func() {
				defer wg.Done()
				c, cancelErr = store.CancelOrder(ctx, d.OrderID, "customer_request", time.Now())
			}()
			wg.Wait()
			if cancelErr != nil {
				t.Fatal(cancelErr)
			}
			switch {
			case errors.Is(createErr, deliverystore.ErrOrderCancelled):
				refused++
				if c.Outcome != deliverystore.NoDelivery {
					t.Fatalf("create refused but the cancellation found %s", c.Outcome)
				}
			case createErr != nil:
				t.Fatal(createErr)
			case !created:
				t.Fatal("the only Create found a delivery already")
			default:
				cancelled++
				if c.Outcome != deliverystore.CancelledNow {
					t.Fatalf("a delivery was created but the cancellation found %s", c.Outcome)
				}
			}
			n, _ := rows(t, db, d.OrderID)
			if n == 0 {
				continue
			}
			got, err := store.ByOrder(ctx, d.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != deliverystore.Cancelled {
				t.Fatalf("order %s ends with a %s delivery after its cancellation", d.OrderID, got.Status)
			}
		}
		t.Logf("%d creations refused, %d deliveries cancelled after creation", refused, cancelled)
	})
}

// TestDeliveryStoredBeforeItsRowHeldHistory stores a delivery as the schema
// before the history column did (its entries in delivery_history): it reads
// the same, and its next step carries the whole history into the row, after
// which the old rows no longer matter.
func TestDeliveryStoredBeforeItsRowHeldHistory(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		store, db := open(t, engine)
		ctx := context.Background()
		d := created(t, store)
		t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"UPDATE deliveries SET history = NULL, status = 'STARTED' WHERE id = ?", []any{d.ID}},
			{"INSERT INTO delivery_history (delivery_id, step, status, at) VALUES (?, 1, 'STARTED', ?)", []any{d.ID, t0}},
		} {
			if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		got, err := store.Get(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.History) != 1 || got.History[0].Status != deliverystore.Started || !got.History[0].At.Equal(t0) {
			t.Fatalf("history = %+v, want STARTED at %s", got.History, t0)
		}
		t1 := t0.Add(time.Hour)
		if _, _, err := store.Advance(ctx, d.ID, deliverystore.Step{To: deliverystore.Couriered, At: t1}, allowAll, stepEvent); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "DELETE FROM delivery_history WHERE delivery_id = ?", d.ID); err != nil {
			t.Fatal(err)
		}
		got, err = store.Get(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.History) != 2 || !got.History[0].At.Equal(t0) || got.History[1].Status != deliverystore.Couriered || !got.History[1].At.Equal(t1) {
			t.Fatalf("history after the step = %+v", got.History)
		}
	})
}
