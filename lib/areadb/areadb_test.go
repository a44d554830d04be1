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

func TestSerialize(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg     map[string]string
		want    bool
		wantErr bool
	}{
		"unset":                {map[string]string{}, false, false},
		"the engine's own key": {map[string]string{"KNSHOP_SERIALIZE_MYSQL": "true", "KNSHOP_SERIALIZE_DB": "false"}, true, false},
		"the shared key":       {map[string]string{"KNSHOP_SERIALIZE_DB": "true"}, true, false},
		"not a boolean":        {map[string]string{"KNSHOP_SERIALIZE_MYSQL": "maybe"}, false, true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Serialize(tc.cfg, "MYSQL")
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("Serialize = %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
