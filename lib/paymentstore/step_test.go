package paymentstore_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/payment"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/storetest"
)

func TestStepConfigFrom(t *testing.T) {
	base := map[string]string{"MYSQL_DSN": "root@tcp(127.0.0.1:1)/", "K_SINK": "http://broker"}
	with := func(extra map[string]string) map[string]string {
		cfg := maps.Clone(base)
		maps.Copy(cfg, extra)
		return cfg
	}
	tests := map[string]struct {
		cfg       map[string]string
		wantErr   bool
		wantDB    string
		wantClaim time.Duration
	}{
		"defaults":              {cfg: base, wantDB: paymentstore.Database, wantClaim: payment.DefaultTimeout + 10*time.Second},
		"claim follows timeout": {cfg: with(map[string]string{"PAYMENT_TIMEOUT": "2s"}), wantDB: paymentstore.Database, wantClaim: 12 * time.Second},
		"claim set":             {cfg: with(map[string]string{"PAYMENT_CLAIM_TTL": "300ms"}), wantDB: paymentstore.Database, wantClaim: 300 * time.Millisecond},
		"database of the test":  {cfg: with(map[string]string{paymentstore.DatabaseKey: "payments_t1"}), wantDB: "payments_t1", wantClaim: payment.DefaultTimeout + 10*time.Second},
		"claim not a duration":  {cfg: with(map[string]string{"PAYMENT_CLAIM_TTL": "soon"}), wantErr: true},
		"claim not positive":    {cfg: with(map[string]string{"PAYMENT_CLAIM_TTL": "0s"}), wantErr: true},
		"no sink":               {cfg: with(map[string]string{"K_SINK": ""}), wantErr: true},
		"no database":           {cfg: with(map[string]string{"MYSQL_DSN": ""}), wantErr: true},
		"unknown gateway":       {cfg: with(map[string]string{"PAYMENT_GATEWAY": "cash"}), wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := paymentstore.StepConfigFrom(tc.cfg, "charge-payment")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %t", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if c.Store.Database != tc.wantDB || c.Claim != tc.wantClaim || c.Sink != "http://broker" {
				t.Fatalf("config %+v, want database %q claim %s", c, tc.wantDB, tc.wantClaim)
			}
		})
	}
}

// TestUnopenedStore: a store never opened is not ready and closes cleanly.
func TestUnopenedStore(t *testing.T) {
	var s *paymentstore.Store
	if ok, err := s.Ready(context.Background()); ok || err != nil {
		t.Fatalf("Ready = %t, %v; want not ready, no error", ok, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
}

// TestOpenKit: a bad configuration is refused before anything is opened;
// a good one opens the gateway and the database cfg names, behind the
// interface the step asks for.
func TestOpenKit(t *testing.T) {
	ctx := context.Background()
	if _, err := paymentstore.OpenKit[*paymentstore.Store]("x")(ctx, map[string]string{}); err == nil {
		t.Fatal("OpenKit without K_SINK or MYSQL_DSN succeeded")
	}
	sc := storetest.MySQL(t, paymentstore.Database)
	cfg := sc.Env(paymentstore.Database)
	cfg["K_SINK"] = "http://127.0.0.1:1"
	type getter interface {
		Get(ctx context.Context, id string) (paymentstore.Payment, error)
	}
	k, err := paymentstore.OpenKit[getter]("x")(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.Store.Get(ctx, "none"); !errors.Is(err, paymentstore.ErrNotFound) {
		t.Fatalf("Get of a payment never made = %v", err)
	}
	if err := k.Ping(ctx); err != nil || k.Gateway.Name() != "sandbox" || k.Config.Store.Database != sc.Database {
		t.Fatalf("opened %+v, gateway %s, ping %v", k.Config, k.Gateway.Name(), err)
	}
	var never *paymentstore.Kit[getter]
	if err := never.Close(); err != nil {
		t.Fatalf("Close of a kit never opened = %v", err)
	}
}
