package e2e

import "testing"

// With no delivery function running, an order stops at PAID, where a
// customer may still cancel it: the payment is refunded and the stock
// released, once. Deleting an account cancels its open orders and ends
// its logins.
func TestCancelAfterPaymentAndAccountDeletion(t *testing.T) {
	onEachMySQL(t, cancelAfterPaymentAndAccountDeletion)
}

func cancelAfterPaymentAndAccountDeletion(t *testing.T, env map[string]string) {
	s := startShop(t, env, "start-delivery")
	_, customer, product := s.market("cancel.test", "lamp", 4500, 4)

	t.Run("cancel after payment refunds and releases", func(t *testing.T) {
		id := placeEventually(t, s, customer, product, 3, "pm_card_visa")
		s.waitOrder(customer, id, "PAID")
		if got := s.stock(product); got != 1 {
			t.Fatalf("stock while reserved = %d, want 1", got)
		}
		s.must(202, "POST", "/api/orders/"+id+"/cancel", customer, nil)
		order := s.waitOrder(customer, id, "CANCELLED")
		if order["cancelReason"] != "customer_request" {
			t.Errorf("cancelReason = %v", order["cancelReason"])
		}
		eventually(t, "refunded and released", func() string {
			// One refund: one PAYMENT_REFUNDED event id. The topic may hold
			// it twice (the outbox's fast path and its relay can both send
			// an event; consumers drop the repeat by id).
			if s.topic.distinct(id, "PAYMENT_REFUNDED") != 1 {
				return "refunds: " + describe(s.topic.typesFor(id))
			}
			if got := s.stock(product); got != 4 {
				return "stock " + describe(got)
			}
			return ""
		})
		if code, _ := s.call("POST", "/api/orders/"+id+"/cancel", customer, nil); code != 409 {
			t.Errorf("cancelling twice answered %d, want 409", code)
		}
	})

	t.Run("deleting the account cancels open orders and ends login", func(t *testing.T) {
		token, _ := s.register("leaving@cancel.test", "customer")
		id := placeEventually(t, s, token, product, 1, "pm_card_visa")
		s.waitOrder(token, id, "PAID")
		s.must(204, "DELETE", "/api/users/me", token, nil)
		eventually(t, "the open order is cancelled for user_deleted", func() string {
			if s.topic.count(id, "ORDER_CANCELLED") == 0 {
				return describe(s.topic.typesFor(id))
			}
			return ""
		})
		eventually(t, "login stops working", func() string {
			code, _ := s.call("POST", "/api/auth/login", "", map[string]any{"email": "leaving@cancel.test", "password": "password-customer"})
			if code != 401 {
				return "login answered " + describe(code)
			}
			return ""
		})
		eventually(t, "USER_DELETED is on the topic", func() string {
			for _, r := range s.topic.all() {
				if r.Type == "USER_DELETED" {
					return ""
				}
			}
			return "no USER_DELETED"
		})
		eventually(t, "the stock comes back", func() string {
			if got := s.stock(product); got != 4 {
				return "stock " + describe(got)
			}
			return ""
		})
	})

	t.Run("cancel at PAID leaves no live delivery", func(t *testing.T) {
		if s.stack.Functions["cancel-delivery"] == "" {
			t.Fatal("cancel-delivery is not running in the stack")
		}
		id := placeEventually(t, s, customer, product, 1, "pm_card_visa")
		s.waitOrder(customer, id, "PAID")
		s.must(202, "POST", "/api/orders/"+id+"/cancel", customer, nil)
		s.waitOrder(customer, id, "CANCELLED")
		eventually(t, "the cancellation's reactions ran", func() string {
			// One refund: one PAYMENT_REFUNDED event id. The topic may hold
			// it twice (the outbox's fast path and its relay can both send
			// an event; consumers drop the repeat by id).
			if s.topic.distinct(id, "PAYMENT_REFUNDED") != 1 {
				return "refunds: " + describe(s.topic.typesFor(id))
			}
			if got := s.stock(product); got != 4 {
				return "stock " + describe(got)
			}
			return ""
		})
		list := s.must(200, "GET", "/api/deliveries?orderId="+id, customer, nil)
		items, _ := list["items"].([]any)
		for _, it := range items {
			if d, _ := it.(map[string]any); d["status"] != "CANCELLED" {
				t.Fatalf("a live delivery for the cancelled order: %v", d)
			}
		}
		if n := s.topic.count(id, "DELIVERY_STARTED"); n != 0 {
			t.Fatalf("%d DELIVERY_STARTED for the cancelled order", n)
		}
	})
}
