package orderstore_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

func TestOpenFromAndOpenPublishing(t *testing.T) {
	ctx := context.Background()
	t.Run("a nil store is not open", func(t *testing.T) {
		var s *orderstore.Store
		if err := s.Ping(ctx); err == nil {
			t.Fatal("a nil store answers")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
	// A port nothing listens on: an open that tried to connect would fail
	// otherwise than the case wants.
	closed := "root@tcp(127.0.0.1:1)/"
	failing := map[string]struct {
		cfg  map[string]string
		open func(context.Context, map[string]string) (*orderstore.Store, error)
		want error
	}{
		"OpenFrom without MYSQL_DSN":       {map[string]string{}, orderstore.OpenFrom, sqlstore.ErrConfig},
		"OpenPublishing without MYSQL_DSN": {map[string]string{"K_SINK": "http://127.0.0.1:1"}, orderstore.OpenPublishing, sqlstore.ErrConfig},
		"OpenPublishing without K_SINK":    {map[string]string{"MYSQL_DSN": closed}, orderstore.OpenPublishing, sink.ErrNoURL},
	}
	for name, tc := range failing {
		t.Run(name, func(t *testing.T) {
			if _, err := tc.open(ctx, tc.cfg); !errors.Is(err, tc.want) {
				t.Fatalf("open: %v, want %v", err, tc.want)
			}
		})
	}
	for _, eng := range storetest.MySQLEngines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			db := orderstoretest.New(t, eng)
			s, err := orderstore.OpenFrom(ctx, db.Env)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			// The store opened is the test's database.
			mug := db.Product(t, "Mug", usd(100), 5)
			if p, err := s.Product(ctx, mug); err != nil || p.Name != "Mug" {
				t.Fatalf("product %+v, %v", p, err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(eng.Name+"/outbox", func(t *testing.T) {
			db := orderstoretest.New(t, eng)
			rec := storetest.NewEventRecorder(t)
			cfg := maps.Clone(db.Env)
			cfg["K_SINK"] = rec.URL()
			s, err := orderstore.OpenPublishing(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			})
			// A cancellation announced through the outbox reaches K_SINK.
			o := db.Order(t, ids.New(), db.Product(t, "Mug", usd(100), 5))
			a, err := s.Advance(ctx, o.ID, orderstore.Change{To: orderstore.Cancelled, Reason: events.ReasonCustomerRequest, At: time.Now()},
				orderstore.AnnounceCancelled(ctx, "test"))
			if err != nil || len(a.Events) != 1 {
				t.Fatalf("advance: %d events, %v", len(a.Events), err)
			}
			if got := rec.WaitFor(t, 1, 5*time.Second); got[0].ID() != ids.Derive(o.ID, "ORDER_CANCELLED") || got[0].Type() != string(events.OrderCancelled) {
				t.Fatalf("published %s %s", got[0].ID(), got[0].Type())
			}
		})
	}
}
