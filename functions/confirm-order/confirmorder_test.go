package confirmorder_test

import (
	"net/http"
	"testing"
	"time"

	confirmorder "github.com/knshop/knshop/functions/confirm-order"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/events/eventstest"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/storetest"
)

func reserved(o orderstore.Order) events.Data {
	return events.StockReservedData{OrderID: o.ID, CustomerID: o.CustomerID, Items: []events.Item{{ProductID: o.Items[0].ProductID, Quantity: 1}},
		Total: o.Total, PaymentMethod: "pm_card_visa", ShippingAddress: o.ShippingAddress}
}

func paid(o orderstore.Order) events.Data {
	return events.PaymentSuccessData{PaymentID: ids.Derive(o.ID, "payment"), OrderID: o.ID, CustomerID: o.CustomerID,
		TransactionID: "tx", Amount: o.Total, Method: "pm_card_visa", PaidAt: time.Now().UTC()}
}

func TestConfirmOrder(t *testing.T) {
	orderstoretest.OnEach(t, confirmorder.New, func(t *testing.T, s orderstoretest.Started) {
		db, h := s.DB, s.H
		mug := db.Product(t, "Mug", money.New(100, "USD"), 5)
		cust := ids.New()
		type delivery func(orderstore.Order) events.Data
		cases := map[string]struct {
			path       []orderstore.Status
			deliveries []delivery // each delivered twice, in this order
			wantStatus orderstore.Status
			wantPaid   bool
			wantReply  string // the id suffix of a re-announced cancellation
		}{
			"reserved then paid":                    {nil, []delivery{reserved, paid}, orderstore.Paid, true, ""},
			"paid overtakes reserved":               {nil, []delivery{paid, reserved}, orderstore.Paid, true, ""},
			"reserved only":                         {nil, []delivery{reserved}, orderstore.Reserved, false, ""},
			"late news for a shipping order":        {[]orderstore.Status{orderstore.Paid, orderstore.Shipping}, []delivery{reserved, paid}, orderstore.Shipping, true, ""},
			"paid after the customer cancelled":     {[]orderstore.Status{orderstore.Reserved, orderstore.Cancelled}, []delivery{paid}, orderstore.Cancelled, true, "/PAYMENT_SUCCESS"},
			"reserved after the customer cancelled": {[]orderstore.Status{orderstore.Cancelled}, []delivery{reserved}, orderstore.Cancelled, false, "/STOCK_RESERVED"},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				o := db.Order(t, cust, mug, tc.path...)
				moves := 0
				for _, d := range tc.deliveries {
					e := eventstest.Build(t, d(o))
					for range 2 {
						code, reply := storetest.Deliver(t, h, e)
						if tc.wantReply == "" {
							if code != http.StatusNoContent {
								t.Fatalf("status %d", code)
							}
							continue
						}
						var c events.OrderCancelledData
						if code != http.StatusOK || events.Decode(*reply, &c) != nil {
							t.Fatalf("status %d, reply %v", code, reply)
						}
						if reply.ID() != ids.Derive(o.ID, "ORDER_CANCELLED"+tc.wantReply) || c.Reason != events.ReasonCustomerRequest {
							t.Fatalf("re-announced cancellation %s %+v", reply.ID(), c)
						}
					}
				}
				got := db.Get(t, o.ID)
				for i := 1; i < len(got.History); i++ {
					if got.History[i].Status != got.History[i-1].Status {
						moves++
					}
				}
				if got.Status != tc.wantStatus || moves != len(got.History)-1 {
					t.Fatalf("order %s, history %+v", got.Status, got.History)
				}
				if tc.wantPaid != (got.Payment != nil && got.Payment.Status == paymentstore.Succeeded) {
					t.Fatalf("payment %+v", got.Payment)
				}
			})
		}

		db.RefusesForGood(t, h, paid)
	})
}
