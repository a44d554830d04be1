package orderstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/storetest"
)

// TestOrderStoredBeforeItsRowHeldDetails stores an order as the schema
// before the items and history columns did (rows in order_items and
// order_history): it reads the same through Get and List, and its next
// change carries both into the row, after which the old rows no longer
// matter.
func TestOrderStoredBeforeItsRowHeldDetails(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		s, p1, p2 := open(t, e)
		db := s.DB()
		id, cust := ids.New(), ids.New()
		t1 := t0.Add(time.Minute)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO orders (id, customer_id, customer_email, customer_name, status, total_amount, currency,
				shipping_address, payment_method, version, created_at, updated_at, deadline, checked_at)
				VALUES (?, ?, '', '', 'RESERVED', 1500, 'USD', '{"line1":"1 Main St","city":"Springfield","postalCode":"12345","country":"US"}',
				'pm_card_visa', 2, ?, ?, ?, ?)`, []any{id, cust, t0, t1, t0.Add(15 * time.Minute), t1}},
			{`INSERT INTO order_items (order_id, line, product_id, name, quantity, unit_amount, currency) VALUES
				(?, 1, ?, 'Mug', 1, 1000, 'USD'), (?, 2, ?, 'Tea', 2, 250, 'USD')`, []any{id, p1, id, p2}},
			{`INSERT INTO order_history (order_id, version, status, at) VALUES (?, 1, 'PENDING', ?), (?, 2, 'RESERVED', ?)`,
				[]any{id, t0, id, t1}},
		} {
			if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		check := func(t *testing.T, o orderstore.Order, history ...orderstore.Status) {
			t.Helper()
			if len(o.Items) != 2 || o.Items[0].ProductID != p1 || o.Items[1].Quantity != 2 || o.Items[1].UnitPrice != usd(250) {
				t.Errorf("items = %+v", o.Items)
			}
			if got := statuses(o.History); !slices.Equal(got, history) {
				t.Errorf("history = %v, want %v", got, history)
			}
			if !o.History[0].At.Equal(t0) || !o.History[1].At.Equal(t1) {
				t.Errorf("history times = %+v", o.History)
			}
		}
		got, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, orderstore.Pending, orderstore.Reserved)
		list, _, err := s.List(ctx, orderstore.ListQuery{CustomerID: cust, Limit: 10})
		if err != nil || len(list) != 1 {
			t.Fatalf("list = %v, %v", list, err)
		}
		check(t, list[0], orderstore.Pending, orderstore.Reserved)

		if _, err := s.Advance(ctx, id, orderstore.Change{To: orderstore.Paid, At: t1}, nil); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"order_items", "order_history"} {
			if _, err := db.ExecContext(ctx, "DELETE FROM "+table+" WHERE order_id = ?", id); err != nil {
				t.Fatal(err)
			}
		}
		got, err = s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		check(t, got, orderstore.Pending, orderstore.Reserved, orderstore.Paid)
	})
}
