package e2e

import (
	"context"
	"testing"
)

// A write whose publish never reaches the Broker (the process died right
// after the commit, or the Broker was unreachable) is not lost: the outbox
// relay publishes it later, and the saga then runs exactly once.
func TestOutboxRelayFinishesWhatThePublishMissed(t *testing.T) {
	onEachMySQL(t, outboxRelayFinishesWhatThePublishMissed)
}

func outboxRelayFinishesWhatThePublishMissed(t *testing.T, env map[string]string) {
	s := startShop(t, env)
	_, customer, product := s.market("crash.test", "kettle", 2500, 5)
	placeEventually(t, s, customer, product, 1, "pm_card_visa")

	s.stack.SetIngressDown(true)
	id := s.order(customer, product, 2, "pm_card_visa")
	if got := s.must(200, "GET", "/api/orders/"+id, customer, nil)["status"]; got != "PENDING" {
		t.Fatalf("order status with the Broker down = %v, want PENDING", got)
	}
	if n := s.topic.count(id, "ORDER_PLACED"); n != 0 {
		t.Fatalf("ORDER_PLACED reached the topic with the ingress down (%d)", n)
	}

	s.stack.SetIngressDown(false)
	if err := s.stack.Relay(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.waitOrder(customer, id, "COMPLETED")
	if err := s.stack.Relay(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"ORDER_PLACED", "STOCK_RESERVED", "PAYMENT_SUCCESS", "ORDER_COMPLETED"} {
		if n := s.topic.count(id, typ); n != 1 {
			t.Errorf("%s published %d times, want exactly once: %v", typ, n, s.topic.typesFor(id))
		}
	}
	if got := s.stock(product); got != 2 {
		t.Errorf("stock = %d, want 2 (5 - 1 - 2)", got)
	}
}
