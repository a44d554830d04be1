package cancelorder_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	cancelorder "github.com/knshop/knshop/functions/cancel-order"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/events/eventstest"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/storetest"
)

func rejected(orderID string) events.StockRejectedData {
	return events.StockRejectedData{OrderID: orderID, Shortages: []events.Shortage{{ProductID: ids.New(), Requested: 2, Available: 1}}}
}

func failed(o orderstore.Order) events.PaymentFailureData {
	return events.PaymentFailureData{PaymentID: ids.Derive(o.ID, "payment"), OrderID: o.ID, CustomerID: o.CustomerID,
		Amount: o.Total, Method: "pm_card_chargeDeclined", Code: "card_declined", Reason: "declined", FailedAt: o.CreatedAt}
}

func TestCancelOrder(t *testing.T) {
	orderstoretest.OnEach(t, cancelorder.New, func(t *testing.T, s orderstoretest.Started) {
		ctx, db, f, h := context.Background(), s.DB, s.F, s.H
		mug := db.Product(t, "Mug", money.New(100, "USD"), 5)
		cust := ids.New()
		stock := func(o orderstore.Order) events.Data { return rejected(o.ID) }
		pay := func(o orderstore.Order) events.Data { return failed(o) }

		cases := map[string]struct {
			path        []orderstore.Status
			data        func(orderstore.Order) events.Data
			wantStatus  orderstore.Status
			wantReason  string // of the reply; "" for no reply
			wantPayment paymentstore.Status
		}{
			"out of stock cancels a pending order": {nil, stock, orderstore.Cancelled, events.ReasonOutOfStock, ""},
			"payment failure cancels reserved":     {[]orderstore.Status{orderstore.Reserved}, pay, orderstore.Cancelled, events.ReasonPaymentFailed, paymentstore.Failed},
			"payment failure before reserved":      {nil, pay, orderstore.Cancelled, events.ReasonPaymentFailed, paymentstore.Failed},
			"payment failure for a paid order":     {[]orderstore.Status{orderstore.Paid}, pay, orderstore.Paid, "", ""},
			"rejection for a shipping order":       {[]orderstore.Status{orderstore.Paid, orderstore.Shipping}, stock, orderstore.Shipping, "", ""},
			"customer cancelled first":             {[]orderstore.Status{orderstore.Cancelled}, stock, orderstore.Cancelled, "", ""},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				o := db.Order(t, cust, mug, tc.path...)
				e := eventstest.Build(t, tc.data(o))
				// Delivered three times: the first answer may be lost
				// after the commit, so every delivery answers the same.
				var replies []*event.Event
				for range 3 {
					code, reply := storetest.Deliver(t, h, e)
					if tc.wantReason == "" && code != http.StatusNoContent || tc.wantReason != "" && code != http.StatusOK {
						t.Fatalf("status %d", code)
					}
					replies = append(replies, reply)
				}
				got := db.Get(t, o.ID)
				if got.Status != tc.wantStatus {
					t.Fatalf("order is %s, want %s", got.Status, tc.wantStatus)
				}
				if len(got.History) != len(o.History)+boolInt(tc.wantReason != "") {
					t.Fatalf("history %+v", got.History)
				}
				if tc.wantPayment != "" && (got.Payment == nil || got.Payment.Status != tc.wantPayment) {
					t.Fatalf("payment %+v", got.Payment)
				}
				if tc.wantReason == "" {
					return
				}
				for _, r := range replies {
					var d events.OrderCancelledData
					if err := events.Decode(*r, &d); err != nil {
						t.Fatal(err)
					}
					if r.ID() != ids.Derive(o.ID, "ORDER_CANCELLED") || d.Reason != tc.wantReason || d.CustomerID != cust {
						t.Fatalf("reply %s %+v", r.ID(), d)
					}
				}
			})
		}

		t.Run("concurrent duplicates cancel once", func(t *testing.T) {
			o := db.Order(t, cust, mug, orderstore.Reserved)
			e := eventstest.Build(t, failed(o))
			var wg sync.WaitGroup
			for range 5 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					reply, err := f.Handle(ctx, e)
					if err != nil && !orderstore.IsRetryable(err) {
						t.Error(err)
					}
					if err == nil && (reply == nil || reply.ID() != ids.Derive(o.ID, "ORDER_CANCELLED")) {
						t.Errorf("reply %v", reply)
					}
				}()
			}
			wg.Wait()
			if got := db.Get(t, o.ID); got.Status != orderstore.Cancelled || len(got.History) != 3 {
				t.Fatalf("history %+v", got.History)
			}
		})

		bad := map[string]struct {
			e    event.Event
			want int
		}{
			"unknown order": {eventstest.Build(t, rejected(ids.New())), http.StatusBadRequest},
			"another type":  {eventstest.Build(t, events.UserDeletedData{UserID: cust, DeletedAt: time.Now()}), http.StatusBadRequest},
		}
		for name, tc := range bad {
			t.Run(name, func(t *testing.T) {
				if code, _ := storetest.Deliver(t, h, tc.e); code != tc.want {
					t.Fatalf("status %d, want %d", code, tc.want)
				}
			})
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
