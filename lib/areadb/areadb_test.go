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

// TestRead holds for every engine: the address is required, the name
// follows Name, the engine's own switch wins over the shared one; and Env
// gives back what Read reads.
func TestRead(t *testing.T) {
	for _, e := range []struct{ addrKey, engine, other string }{
		{"MYSQL_DSN", "MYSQL", "MONGODB"},
		{"MONGODB_URI", "MONGODB", "MYSQL"},
	} {
		own, other := "KNSHOP_SERIALIZE_"+e.engine, "KNSHOP_SERIALIZE_"+e.other
		for name, tc := range map[string]struct {
			cfg     map[string]string
			want    Place
			wantErr bool
		}{
			"address only":     {cfg: map[string]string{e.addrKey: "a"}, want: Place{Addr: "a", Database: "orders"}},
			"renamed":          {cfg: map[string]string{e.addrKey: "a", "ORDERS_DATABASE": "o_1"}, want: Place{Addr: "a", Database: "o_1"}},
			"serialized":       {cfg: map[string]string{e.addrKey: "a", "KNSHOP_SERIALIZE_DB": "true"}, want: Place{Addr: "a", Database: "orders", Serialize: true}},
			"engine key wins":  {cfg: map[string]string{e.addrKey: "a", "KNSHOP_SERIALIZE_DB": "true", own: "false"}, want: Place{Addr: "a", Database: "orders"}},
			"engine key alone": {cfg: map[string]string{e.addrKey: "a", own: "true", other: "false"}, want: Place{Addr: "a", Database: "orders", Serialize: true}},
			"missing address":  {cfg: map[string]string{"KNSHOP_SERIALIZE_DB": "true"}, wantErr: true},
			"bad serialize":    {cfg: map[string]string{e.addrKey: "a", "KNSHOP_SERIALIZE_DB": "maybe"}, wantErr: true},
		} {
			t.Run(e.engine+"/"+name, func(t *testing.T) {
				got, err := Read(tc.cfg, e.addrKey, e.engine, "orders")
				if (err != nil) != tc.wantErr || got != tc.want {
					t.Fatalf("Read = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
				}
				if tc.wantErr {
					return
				}
				if again, err := Read(got.Env(e.addrKey, e.engine, "orders"), e.addrKey, e.engine, "orders"); err != nil || again != got {
					t.Fatalf("Read(Env) = %+v, %v; want %+v", again, err, got)
				}
			})
		}
	}
}
