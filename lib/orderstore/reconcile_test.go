package orderstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/storetest"
)

func orderIDs(os []orderstore.Order) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.ID)
	}
	return out
}

// reconcile-orders' queries: an unpaid order has a deadline and expires past
// it; a paid or ended one has none; an order that has not changed since a
// moment is stalled until it moves or is driven again; three re-drives
// without a move make it stuck.
func TestReconcileQueries(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		db := orderstoretest.New(t, e)
		ctx := t.Context()
		p := db.Product(t, "mug", money.New(500, "USD"), 100)
		pending := db.Order(t, "c1", p)
		paid := db.Order(t, "c1", p, orderstore.Paid)
		done := db.Order(t, "c1", p, orderstore.Paid, orderstore.Shipping, orderstore.InTransit, orderstore.Completed)
		if pending.Deadline == nil || paid.Deadline != nil || done.Deadline != nil {
			t.Fatalf("deadlines: pending %v, paid %v, completed %v", pending.Deadline, paid.Deadline, done.Deadline)
		}
		stored := db.Get(t, pending.ID)
		if got := stored.Deadline; got == nil || got.Sub(stored.CreatedAt) != orderstore.DefaultPaymentDeadline {
			t.Fatalf("stored deadline %v, want createdAt + %v", got, orderstore.DefaultPaymentDeadline)
		}

		expired, err := db.Store.Expired(ctx, time.Now().Add(orderstore.DefaultPaymentDeadline+time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := orderIDs(expired); !slices.Equal(got, []string{pending.ID}) {
			t.Fatalf("expired %v, want only the unpaid %s", got, pending.ID)
		}
		if expired, _ := db.Store.Expired(ctx, time.Now(), 10); len(expired) != 0 {
			t.Fatalf("expired before the deadline: %v", orderIDs(expired))
		}

		later := time.Now().Add(time.Second)
		stalled, err := db.Store.Stalled(ctx, later, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := orderIDs(stalled); len(got) != 2 || !slices.Contains(got, pending.ID) || !slices.Contains(got, paid.ID) {
			t.Fatalf("stalled %v, want the pending and the paid order (not the completed one)", got)
		}
		if s, _ := db.Store.Stalled(ctx, later, 1); len(s) != 1 {
			t.Fatalf("a tick of 1 got %d orders", len(s))
		}
		for i := 1; i <= orderstore.StuckAfter; i++ {
			n, err := db.Store.MarkRedriven(ctx, db.Get(t, paid.ID), later)
			if err != nil || n != i {
				t.Fatalf("re-drive %d counted %d, %v", i, n, err)
			}
		}
		if s, _ := db.Store.Stalled(ctx, later, 10); !slices.Equal(orderIDs(s), []string{pending.ID}) {
			t.Fatalf("a re-driven order is still stalled: %v", orderIDs(s))
		}
		stuck, err := db.Store.Stuck(ctx, orderstore.StuckAfter, 10)
		if err != nil || !slices.Equal(orderIDs(stuck), []string{paid.ID}) {
			t.Fatalf("stuck %v, %v; want %s", orderIDs(stuck), err, paid.ID)
		}
		// A move restarts the count: the order is no longer stuck.
		if _, err := db.Store.Advance(ctx, paid.ID, orderstore.Change{To: orderstore.Shipping, At: time.Now()}, nil); err != nil {
			t.Fatal(err)
		}
		if stuck, _ := db.Store.Stuck(ctx, orderstore.StuckAfter, 10); len(stuck) != 0 {
			t.Fatalf("a moved order is still stuck: %v", orderIDs(stuck))
		}
		// A re-drive of an order that moved meanwhile records nothing.
		if n, err := db.Store.MarkRedriven(ctx, paid, later); err != nil || n != 0 {
			t.Fatalf("re-drive of a moved order counted %d, %v", n, err)
		}
	})
}
