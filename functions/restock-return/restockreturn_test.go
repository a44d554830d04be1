package restockreturn_test

import (
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	restockreturn "github.com/knshop/knshop/functions/restock-return"
	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/catalog/catalogtest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/storetest"
)

func received(t *testing.T, returnID, product string, qty int64) events.ReturnReceivedData {
	t.Helper()
	return events.ReturnReceivedData{ReturnID: returnID, OrderID: ids.New(), CustomerID: ids.New(),
		Items: []events.Item{{ProductID: product, Quantity: qty}}, Amount: money.New(100*qty, "USD"), ReceivedAt: time.Now().UTC()}
}

func TestRestocksOnceWhateverTheDeliveries(t *testing.T) {
	db := catalogtest.New(t)
	h := db.Start(t, restockreturn.New(), nil)
	mug := catalogtest.AddProduct(t, db.Store, 10)
	order := ids.New()
	if _, err := db.Store.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: mug, Quantity: 4}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Store.SettleOrder(t.Context(), order); err != nil {
		t.Fatal(err)
	}
	e := eventstest.Build(t, received(t, ids.New(), mug, 2))
	var wg sync.WaitGroup
	for range 6 { // concurrent duplicates
		wg.Go(func() {
			if code, _ := storetest.Deliver(t, h, e); code != 204 {
				t.Errorf("status %d", code)
			}
		})
	}
	wg.Wait()
	if code, _ := storetest.Deliver(t, h, e); code != 204 { // a late duplicate
		t.Fatalf("status %d", code)
	}
	if stock, _, sold := catalogtest.Counters(t, db.Store, mug); stock != 8 || sold != 2 {
		t.Fatalf("stock/sold = %d/%d, want 8/2", stock, sold)
	}
}

func TestRejectsWhatItCanNeverProcess(t *testing.T) {
	db := catalogtest.New(t)
	h := db.Start(t, restockreturn.New(), nil)
	bad := received(t, "a.b", ids.New(), 1)
	e := eventstest.Build(t, bad)
	if code, _ := storetest.Deliver(t, h, e); code != 400 {
		t.Fatalf("dotted return id: status %d, want 400", code)
	}
	wrong := eventstest.Build(t, events.ReturnRejectedData{ReturnID: ids.New(), OrderID: ids.New(), Reason: "x", RejectedAt: time.Now()})
	if code, _ := storetest.Deliver(t, h, wrong); code != 400 {
		t.Fatalf("another type: status %d, want 400", code)
	}
}
