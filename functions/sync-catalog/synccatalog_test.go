package synccatalog_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	synccatalog "github.com/knshop/knshop/functions/sync-catalog"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/events/eventstest"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/storetest"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func added(id string, price int64) events.ProductAddedData {
	return events.ProductAddedData{ProductID: id, SellerID: ids.New(), Name: "Mug", Category: "kitchen",
		Price: money.New(price, "USD"), Stock: 5, Version: 1, AddedAt: t0}
}

func updated(id string, version, price int64) events.ProductUpdatedData {
	return events.ProductUpdatedData{ProductID: id, SellerID: ids.New(), Changed: []string{"price"}, Name: "Mug",
		Category: "kitchen", Price: money.New(price, "USD"), Stock: 5, Version: version, UpdatedAt: t0.Add(time.Duration(version) * time.Minute)}
}

func TestSyncCatalog(t *testing.T) {
	orderstoretest.OnEach(t, synccatalog.New, func(t *testing.T, s orderstoretest.Started) {
		ctx, db, f, h := context.Background(), s.DB, s.F, s.H
		id := ids.New()
		// One product's events in delivery order: duplicates and
		// stale versions must leave the newest state.
		steps := []struct {
			name        string
			data        events.Data
			wantPrice   int64
			wantVersion int64
			wantDeleted bool
		}{
			{"added", added(id, 1000), 1000, 1, false},
			{"added again (duplicate)", added(id, 1000), 1000, 1, false},
			{"version 3 before 2", updated(id, 3, 1300), 1300, 3, false},
			{"late version 2 is ignored", updated(id, 2, 1200), 1300, 3, false},
			{"late add is ignored", added(id, 900), 1300, 3, false},
			{"deleted at 4", events.ProductDeletedData{ProductID: id, Version: 4, DeletedAt: t0.Add(time.Hour)}, 1300, 4, true},
			{"update after delete is ignored", updated(id, 3, 1), 1300, 4, true},
		}
		for _, st := range steps {
			reply, err := f.Handle(ctx, eventstest.Build(t, st.data))
			if err != nil || reply != nil {
				t.Fatalf("%s: reply %v, err %v", st.name, reply, err)
			}
			p, err := db.Store.Product(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if p.Price.Amount != st.wantPrice || p.Version != st.wantVersion || p.Deleted != st.wantDeleted {
				t.Fatalf("%s: product %+v", st.name, p)
			}
		}

		t.Run("concurrent updates keep the newest", func(t *testing.T) {
			pid := ids.New()
			var wg sync.WaitGroup
			for v := int64(9); v >= 1; v-- {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := f.Handle(ctx, eventstest.Build(t, updated(pid, v, 100*v))); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			p, err := db.Store.Product(ctx, pid)
			if err != nil || p.Version != 9 || p.Price.Amount != 900 {
				t.Fatalf("after concurrent updates: %+v, %v", p, err)
			}
		})

		wrongType := eventstest.Build(t, events.UserDeletedData{UserID: ids.New(), DeletedAt: t0})
		badData := eventstest.Build(t, added(ids.New(), 100))
		if err := badData.SetData(event.ApplicationJSON, map[string]any{"productId": 5}); err != nil {
			t.Fatal(err)
		}
		statuses := map[string]struct {
			e    event.Event
			want int
		}{
			"applied is 204":         {eventstest.Build(t, added(ids.New(), 100)), http.StatusNoContent},
			"stale is 204 too":       {eventstest.Build(t, added(id, 100)), http.StatusNoContent},
			"another type is 400":    {wrongType, http.StatusBadRequest},
			"data off schema is 400": {badData, http.StatusBadRequest},
		}
		for name, tc := range statuses {
			t.Run(name, func(t *testing.T) {
				if got, _ := storetest.Deliver(t, h, tc.e); got != tc.want {
					t.Fatalf("status %d, want %d", got, tc.want)
				}
			})
		}
	})
}
