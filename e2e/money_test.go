package e2e

import (
	"fmt"
	"reflect"
	"testing"
)

// Every money limit of the contract, at the edge and past it, through the
// products, orders and cart routes: past a limit is a 400 naming the field,
// nothing is stored, and nothing reaches an event.
func TestMoneyLimitsAndOverflow(t *testing.T) {
	s := startShop(t, nil)
	seller, customer, maxPriced := s.market("money.test", "yacht", 100_000_000, 10_000)
	cheap := s.addProduct(seller, "pin", 1, 10_000)
	placeEventually(t, s, customer, cheap, 1, "pm_card_visa") // the read model knows both now
	eventually(t, "the orders side knows the yacht", func() string {
		if code, out := s.call("PUT", "/api/cart/items/"+maxPriced, customer, map[string]any{"quantity": 1}); code != 200 {
			return describe(out)
		}
		s.must(204, "DELETE", "/api/cart", customer, nil)
		return ""
	})
	placed := func() int { return s.topic.countType("ORDER_PLACED") }
	ordersBefore := placed()

	t.Run("prices", func(t *testing.T) {
		for name, tc := range map[string]struct {
			amount any
			want   int
		}{
			"at the limit":       {amount: 100_000_000, want: 201},
			"one past the limit": {amount: 100_000_001, want: 400},
			"near 2^62":          {amount: int64(1)<<62 + 75, want: 400},
			"past int64":         {amount: 9223372036854775808.0, want: 400},
			"fractional":         {amount: 19.99, want: 400},
			"negative":           {amount: -1, want: 400},
		} {
			t.Run(name, func(t *testing.T) {
				code, out := s.call("POST", "/api/products", seller, map[string]any{
					"name": "p", "description": "d", "category": "c", "stock": 1,
					"price": map[string]any{"amount": tc.amount, "currency": "USD"},
				})
				if code != tc.want {
					t.Fatalf("status %d, want %d: %v", code, tc.want, out)
				}
				if code == 400 && !namesField(out, "price.amount") {
					t.Fatalf("problem does not name price.amount: %v", out)
				}
			})
		}
		code, out := s.call("PATCH", "/api/products/"+cheap, seller, map[string]any{"price": map[string]any{"amount": int64(1) << 62, "currency": "USD"}})
		if code != 400 || !namesField(out, "price.amount") {
			t.Fatalf("PATCH to a price near 2^62: %d %v", code, out)
		}
		if p := s.must(200, "GET", "/api/products/"+cheap, "", nil)["price"].(map[string]any)["amount"]; p != 1.0 {
			t.Fatalf("the price changed to %v", p)
		}
	})

	t.Run("orders", func(t *testing.T) {
		line := func(p string, q any) map[string]any { return map[string]any{"productId": p, "quantity": q} }
		for name, tc := range map[string]struct {
			items []any
			field string
		}{
			"total over 10^10":           {items: []any{line(maxPriced, 101)}, field: "items"},
			"quantity over 10,000":       {items: []any{line(cheap, 10_001)}, field: "items[0].quantity"},
			"quantity that overflows":    {items: []any{line(maxPriced, int64(1)<<62)}, field: "items[0].quantity"},
			"quantity past int64":        {items: []any{line(cheap, 9223372036854775808.0)}, field: "items[0].quantity"},
			"fractional quantity":        {items: []any{line(cheap, 1.5)}, field: "items[0].quantity"},
			"two lines over the limit":   {items: []any{line(maxPriced, 100), line(cheap, 1)}, field: "items"},
			"two lines whose sum is big": {items: []any{line(maxPriced, 10_000), line(cheap, 10_000)}, field: "items"},
		} {
			t.Run(name, func(t *testing.T) {
				code, out := s.call("POST", "/api/orders", customer, map[string]any{"items": tc.items, "shippingAddress": home, "paymentMethod": "pm_card_visa"})
				if code != 400 || !namesField(out, tc.field) {
					t.Fatalf("status %d, want 400 naming %s: %v", code, tc.field, out)
				}
			})
		}
		// Exactly at the limit is accepted; the sandbox gateway (like
		// Stripe) cannot charge that much, so it ends CANCELLED/payment_failed
		// with its stock back: a failure event, not a dead letter.
		stock := s.stock(maxPriced)
		id := s.order(customer, maxPriced, 100, "pm_card_visa")
		o := s.waitOrder(customer, id, "CANCELLED")
		if total := o["total"].(map[string]any)["amount"]; total != 1e10 || o["cancelReason"] != "payment_failed" {
			t.Fatalf("order at the limit: total %v, reason %v", total, o["cancelReason"])
		}
		pay := s.must(200, "GET", "/api/payments?orderId="+id, customer, nil)["items"].([]any)[0].(map[string]any)
		if pay["status"] != "FAILED" || pay["failureCode"] != "payment_rejected" {
			t.Fatalf("payment = %v", pay)
		}
		eventually(t, "the stock is back", func() string {
			if got := s.stock(maxPriced); got != stock {
				return fmt.Sprintf("stock %d, want %d", got, stock)
			}
			return ""
		})
	})

	t.Run("cart", func(t *testing.T) {
		s.must(200, "PUT", "/api/cart/items/"+maxPriced, customer, map[string]any{"quantity": 100})
		before := s.must(200, "GET", "/api/cart", customer, nil)
		if total := before["total"].(map[string]any)["amount"]; total != 1e10 {
			t.Fatalf("cart total = %v", total)
		}
		for name, tc := range map[string]struct {
			product string
			qty     any
		}{
			"a second line past the total": {product: cheap, qty: 1},
			"the same line past the total": {product: maxPriced, qty: 101},
			"quantity over 10,000":         {product: cheap, qty: 10_001},
			"quantity past int64":          {product: cheap, qty: 9223372036854775808.0},
			"fractional quantity":          {product: cheap, qty: 0.5},
		} {
			t.Run(name, func(t *testing.T) {
				code, out := s.call("PUT", "/api/cart/items/"+tc.product, customer, map[string]any{"quantity": tc.qty})
				if code != 400 || !namesField(out, "quantity") {
					t.Fatalf("status %d, want 400 naming quantity: %v", code, out)
				}
				if after := s.must(200, "GET", "/api/cart", customer, nil); !reflect.DeepEqual(before, after) {
					t.Fatalf("the cart changed:\nbefore %v\nafter  %v", before, after)
				}
			})
		}
		// The cart at exactly the limit orders.
		s.must(202, "POST", "/api/orders", customer, map[string]any{"shippingAddress": home, "paymentMethod": "pm_card_visa"})
	})

	eventually(t, "only the accepted orders reached the topic", func() string {
		if got := placed() - ordersBefore; got != 2 {
			return fmt.Sprintf("%d ORDER_PLACED, want 2", got)
		}
		return ""
	})
}

// namesField reports whether the problem out lists field.
func namesField(out map[string]any, field string) bool {
	errs, _ := out["errors"].([]any)
	for _, e := range errs {
		if e.(map[string]any)["field"] == field {
			return true
		}
	}
	return false
}
