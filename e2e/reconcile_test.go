package e2e

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// With the payment provider unreachable (the Stripe gateway pointed at a
// closed port), an order cannot be charged; its payment deadline cancels it
// with reason expired, its stock comes back and nothing is charged. The
// order's timeline shows the failures: charge-payment's retried attempts,
// and the dead letter of ORDER_CANCELLED after refund-payment (which asks
// the same unreachable provider) ran out of retries.
func TestDeadlineCancelsAnOrderThePaymentProviderNeverAnswers(t *testing.T) {
	s := startShopTimed(t, map[string]string{
		"PAYMENT_GATEWAY": "stripe", "STRIPE_API_KEY": "sk_test_unreachable", "STRIPE_API_BASE": "http://127.0.0.1:1",
		"ORDER_PAYMENT_DEADLINE": "3s", "PAYMENT_TIMEOUT": "200ms",
	}, timers{relay: time.Second, reconcile: 250 * time.Millisecond})
	_, customer, product := s.market("deadline.test", "lamp", 4200, 5)

	id := placeEventually(t, s, customer, product, 2, "pm_card_visa")
	o := s.must(200, "GET", "/api/orders/"+id, customer, nil)
	if o["deadline"] == nil {
		t.Fatalf("an unpaid order has no deadline: %v", o)
	}
	o = s.waitOrder(customer, id, "CANCELLED")
	if o["cancelReason"] != "expired" || o["deadline"] != nil {
		t.Fatalf("cancelled order: reason %v, deadline %v; want expired and none", o["cancelReason"], o["deadline"])
	}
	eventually(t, "the stock is back", func() string {
		if got := s.stock(product); got != 5 {
			return fmt.Sprintf("stock %d, want 5", got)
		}
		return ""
	})
	if n := s.topic.count(id, "PAYMENT_SUCCESS"); n != 0 {
		t.Fatalf("PAYMENT_SUCCESS published %d times for an order never charged", n)
	}
	// The order's timeline shows the forced failures: charge-payment's
	// attempts at STOCK_RESERVED numbered 1, 2, ... (retries), the six
	// failed attempts of refund-payment at ORDER_CANCELLED and then its
	// dead letter, and the expiry by reconcile-orders.
	admin := s.login(adminEmail, adminPassword)
	eventually(t, "the timeline shows the retries, the dead letter and the expiry", func() string {
		var chargeAttempts, refundAttempts []float64
		dead, expired := false, false
		for _, e := range s.timeline(admin, id) {
			switch {
			case e.kind == "delivery" && e.typ == "STOCK_RESERVED" && e.function == "charge-payment" && e.status == 500:
				chargeAttempts = append(chargeAttempts, e.attempt)
			case e.kind == "delivery" && e.typ == "ORDER_CANCELLED" && e.function == "refund-payment" && e.status == 500:
				refundAttempts = append(refundAttempts, e.attempt)
			case e.kind == "dead-letter" && e.typ == "ORDER_CANCELLED":
				dead = e.detail["errorCode"] == float64(500)
			case e.kind == "reconcile" && e.typ == "expired":
				expired = true
			}
		}
		if len(chargeAttempts) < 2 || !slices.Equal(refundAttempts, []float64{1, 2, 3, 4, 5, 6}) || !dead || !expired {
			return fmt.Sprintf("charge attempts %v, refund attempts %v, dead letter %v, expired %v", chargeAttempts, refundAttempts, dead, expired)
		}
		for i, a := range chargeAttempts {
			if a != float64(i+1) {
				return fmt.Sprintf("charge attempts %v are not numbered 1, 2, ...", chargeAttempts)
			}
		}
		return ""
	})
	for _, p := range s.must(200, "GET", "/api/payments?orderId="+id, customer, nil)["items"].([]any) {
		if st := p.(map[string]any)["status"]; st == "SUCCEEDED" {
			t.Fatalf("payment %v", p)
		}
	}
}

// A charge that can never be made (over the gateway's maximum) ends
// CANCELLED/payment_failed with the stock back, and nothing in the dead
// letters: a business outcome is an event.
func TestAChargeThatCannotBeMadeCancelsTheOrder(t *testing.T) {
	s := startShop(t, nil)
	admin := s.login(adminEmail, adminPassword)
	_, customer, product := s.market("uncharge.test", "statue", 100_000_000, 3)
	id := placeEventually(t, s, customer, product, 1, "pm_card_visa") // 100,000,000 > 99,999,999
	o := s.waitOrder(customer, id, "CANCELLED")
	if o["cancelReason"] != "payment_failed" {
		t.Fatalf("reason %v, want payment_failed", o["cancelReason"])
	}
	eventually(t, "the stock is back", func() string {
		if got := s.stock(product); got != 3 {
			return fmt.Sprintf("stock %d, want 3", got)
		}
		return ""
	})
	if n := len(s.must(200, "GET", "/api/admin/dead-letters", admin, nil)["items"].([]any)); n != 0 {
		t.Fatalf("%d dead letters, want none", n)
	}
}

// An ORDER_PLACED that never reached the Broker (and no relay to send it)
// leaves the order PENDING; reconcile-orders drives it again with the same
// event id once it has not moved for ORDER_STALL_AFTER, and it completes,
// charged once.
func TestALostEventIsDrivenAgain(t *testing.T) {
	s := startShopTimed(t, map[string]string{"ORDER_STALL_AFTER": "1s"},
		timers{relay: time.Hour, reconcile: 200 * time.Millisecond})
	_, customer, product := s.market("lost.test", "kettle", 2500, 5)
	placeEventually(t, s, customer, product, 1, "pm_card_visa")

	s.stack.SetIngressDown(true)
	id := s.order(customer, product, 2, "pm_card_visa")
	time.Sleep(300 * time.Millisecond)
	s.stack.SetIngressDown(false)
	if got := s.must(200, "GET", "/api/orders/"+id, customer, nil)["status"]; got != "PENDING" {
		t.Fatalf("order status with its event lost = %v, want PENDING", got)
	}
	s.waitOrder(customer, id, "COMPLETED")
	if n := s.topic.count(id, "PAYMENT_SUCCESS"); n < 1 {
		t.Fatalf("no PAYMENT_SUCCESS for a completed order")
	}
	pays := s.must(200, "GET", "/api/payments?orderId="+id, customer, nil)["items"].([]any)
	if len(pays) != 1 || pays[0].(map[string]any)["status"] != "SUCCEEDED" {
		t.Fatalf("payments = %v, want one SUCCEEDED", pays)
	}
	if got := s.stock(product); got != 2 {
		t.Errorf("stock = %d, want 2 (5 - 1 - 2)", got)
	}
}

// Thirty races of the payment deadline against a charge that succeeds at
// about the same moment: each order ends PAID and kept (COMPLETED), or
// CANCELLED with its payment refunded once; never PAID with its stock
// released. Stock is conserved.
func TestDeadlineRacesASuccessfulCharge(t *testing.T) { onEachMySQL(t, deadlineRacesASuccessfulCharge) }

func deadlineRacesASuccessfulCharge(t *testing.T, env map[string]string) {
	cfg := map[string]string{"ORDER_PAYMENT_DEADLINE": "15ms"}
	for k, v := range env {
		cfg[k] = v
	}
	s := startShopTimed(t, cfg, timers{relay: time.Second, reconcile: 10 * time.Millisecond})
	seller, _ := s.register("seller@race.test", "seller")
	customer, _ := s.register("customer@race.test", "customer")
	const initial, races = 100, 30
	product := s.addProduct(seller, "clock", 1500, initial)
	eventually(t, "the orders side knows the product", func() string {
		if code, out := s.call("PUT", "/api/cart/items/"+product, customer, map[string]any{"quantity": 1}); code != 200 {
			return describe(out)
		}
		return ""
	})

	ids := make([]string, races)
	var wg sync.WaitGroup
	for i := range races {
		wg.Go(func() {
			time.Sleep(time.Duration(i%10) * 7 * time.Millisecond)
			ids[i] = s.order(customer, product, 1, "pm_card_visa")
		})
	}
	wg.Wait()
	sold, cancelled := 0, 0
	for _, id := range ids {
		var o map[string]any
		eventually(t, "order "+id+" ends", func() string {
			_, o = s.call("GET", "/api/orders/"+id, customer, nil)
			if st := o["status"]; st != "COMPLETED" && st != "CANCELLED" {
				return fmt.Sprint(st)
			}
			return ""
		})
		succeeded := s.topic.distinct(id, "PAYMENT_SUCCESS")
		switch o["status"] {
		case "COMPLETED":
			sold++
			if succeeded != 1 || s.topic.distinct(id, "PAYMENT_REFUNDED") != 0 {
				t.Errorf("completed order %s: %d PAYMENT_SUCCESS, %d refunds", id, succeeded, s.topic.distinct(id, "PAYMENT_REFUNDED"))
			}
		case "CANCELLED":
			cancelled++
			if o["cancelReason"] != "expired" {
				t.Errorf("order %s cancelled for %v", id, o["cancelReason"])
			}
			if succeeded > 0 {
				eventually(t, "the charge of cancelled order "+id+" is refunded once", func() string {
					if n := s.topic.distinct(id, "PAYMENT_REFUNDED"); n != 1 {
						return fmt.Sprintf("%d refunds", n)
					}
					return ""
				})
			}
			if historyHas(o, "PAID") {
				t.Errorf("order %s was PAID and then cancelled: %v", id, historyOf(o))
			}
		}
	}
	eventually(t, "stock is conserved", func() string {
		if got := s.stock(product); got != initial-sold {
			return fmt.Sprintf("stock %d, want %d - %d sold", got, initial, sold)
		}
		return ""
	})
	t.Logf("%d completed, %d expired", sold, cancelled)
}

func historyHas(order map[string]any, status string) bool {
	for _, h := range historyOf(order) {
		if h == status {
			return true
		}
	}
	return false
}
