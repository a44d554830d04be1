package recordpurchase_test

import (
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	recordpurchase "github.com/knshop/knshop/functions/record-purchase"
	"github.com/knshop/knshop/lib/catalog/catalogtest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/storetest"
)

func TestRecordsWhoBoughtWhatOnce(t *testing.T) {
	db := catalogtest.New(t)
	h := db.Start(t, recordpurchase.New(), nil)
	customer, mug, tea := ids.New(), ids.New(), ids.New()
	completed := func(name string, items ...events.Item) {
		t.Helper()
		e := eventstest.Build(t, events.OrderCompletedData{
			OrderID: ids.New(), CustomerID: customer, CustomerName: name, Items: items, CompletedAt: time.Now().UTC()})
		for range 2 {
			if code, _ := storetest.Deliver(t, h, e); code != 204 {
				t.Fatalf("status %d", code)
			}
		}
	}
	completed("Ann", events.Item{ProductID: mug, Quantity: 2}, events.Item{ProductID: tea, Quantity: 1})
	completed("Ann Renamed", events.Item{ProductID: mug, Quantity: 1}) // bought again: the record stays
	completed("Ann")                                                   // an ORDER_COMPLETED from before items were carried
	for _, p := range []string{mug, tea} {
		got, ok, err := db.Store.Purchased(t.Context(), customer, p)
		if err != nil || !ok || got.CustomerName != "Ann" {
			t.Fatalf("purchase of %s = %+v, %v, %v", p, got, ok, err)
		}
	}
	if _, ok, _ := db.Store.Purchased(t.Context(), ids.New(), mug); ok {
		t.Fatal("a stranger is a buyer")
	}
}
