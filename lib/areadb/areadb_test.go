package areadb

import "testing"

func TestName(t *testing.T) {
	cfg := map[string]string{"ORDERS_DATABASE": "orders_test_1"}
	if got := Name(cfg, "orders"); got != "orders_test_1" {
		t.Fatalf("Name(orders) = %q", got)
	}
	if got := Name(cfg, "deliveries"); got != "deliveries" {
		t.Fatalf("Name(deliveries) = %q, want the default", got)
	}
	if Key("identity") != "IDENTITY_DATABASE" {
		t.Fatalf("Key(identity) = %q", Key("identity"))
	}
}
