package trackorder_test

import (
	"net/http"
	"testing"
	"time"

	trackorder "github.com/knshop/knshop/functions/track-order"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/events/eventstest"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/storetest"
)

var partner = events.Partner{ID: "sandbox", Name: "Sandbox Couriers"}

func started(o orderstore.Order) events.Data {
	return events.DeliveryStartedData{DeliveryID: ids.Derive(o.ID, "delivery"), OrderID: o.ID, Address: o.ShippingAddress, Partner: partner, StartedAt: time.Now().UTC()}
}

func couriered(o orderstore.Order) events.Data {
	return events.DeliveryCourieredPartnerData{DeliveryID: ids.Derive(o.ID, "delivery"), OrderID: o.ID, Partner: partner, TrackingNumber: "TRK-1", CourieredAt: time.Now().UTC()}
}

func TestTrackOrder(t *testing.T) {
	orderstoretest.OnEach(t, trackorder.New, func(t *testing.T, s orderstoretest.Started) {
		db, h := s.DB, s.H
		mug := db.Product(t, "Mug", money.New(100, "USD"), 5)
		cust := ids.New()
		type delivery func(orderstore.Order) events.Data
		cases := map[string]struct {
			path           []orderstore.Status
			deliveries     []delivery // each delivered twice, in order
			wantStatus     orderstore.Status
			wantDelivery   deliverystore.Status
			wantTracking   string
			wantHistoryAdd int
		}{
			"started then couriered":         {[]orderstore.Status{orderstore.Paid}, []delivery{started, couriered}, orderstore.InTransit, deliverystore.Couriered, "TRK-1", 2},
			"couriered overtakes started":    {[]orderstore.Status{orderstore.Paid}, []delivery{couriered, started}, orderstore.InTransit, deliverystore.Couriered, "TRK-1", 2}, // SHIPPING passed over, recorded
			"started only":                   {[]orderstore.Status{orderstore.Paid}, []delivery{started}, orderstore.Shipping, deliverystore.Started, "", 1},
			"started before paid is applied": {[]orderstore.Status{orderstore.Reserved}, []delivery{started}, orderstore.Shipping, deliverystore.Started, "", 2}, // PAID passed over, recorded
			"cancelled order is left alone":  {[]orderstore.Status{orderstore.Cancelled}, []delivery{started, couriered}, orderstore.Cancelled, deliverystore.Started, "", 0},
			"completed order is left alone":  {[]orderstore.Status{orderstore.Paid, orderstore.Completed}, []delivery{couriered}, orderstore.Completed, deliverystore.Couriered, "TRK-1", 0},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				o := db.Order(t, cust, mug, tc.path...)
				for _, d := range tc.deliveries {
					e := eventstest.Build(t, d(o))
					for range 2 {
						if code, _ := storetest.Deliver(t, h, e); code != http.StatusNoContent {
							t.Fatalf("status %d", code)
						}
					}
				}
				got := db.Get(t, o.ID)
				if got.Status != tc.wantStatus || len(got.History) != len(o.History)+tc.wantHistoryAdd {
					t.Fatalf("order %s history %+v", got.Status, got.History)
				}
				if got.Delivery == nil || got.Delivery.Status != tc.wantDelivery || got.Delivery.TrackingNumber != tc.wantTracking ||
					got.Delivery.ID != ids.Derive(o.ID, "delivery") {
					t.Fatalf("delivery %+v", got.Delivery)
				}
			})
		}
		db.RefusesForGood(t, h, started)
	})
}
