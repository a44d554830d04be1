package completereturn_test

import (
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	completereturn "github.com/knshop/knshop/functions/complete-return"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/storetest"
)

func refundedEvent(t *testing.T, orderID, returnID string) event.Event {
	t.Helper()
	e := eventstest.Build(t, events.PaymentRefundedData{
		PaymentID: ids.New(), OrderID: orderID, Amount: money.New(100, "USD"), RefundID: "re_" + returnID,
		RefundedAt: time.Now().UTC(), ReturnID: returnID,
	})
	return e
}

// requested makes a completed order and a return of its unit, REQUESTED;
// received moves it on.
func requested(t *testing.T, db *orderstoretest.DB) orderstore.Return {
	t.Helper()
	product := db.Product(t, "Mug", money.New(100, "USD"), 5)
	o := db.Order(t, "cust", product, orderstoretest.Completed...)
	p, err := db.Store.RequestReturn(t.Context(), orderstore.ReturnRequest{ReturnID: ids.New(), OrderID: o.ID, CustomerID: "cust",
		Items: []events.Item{{ProductID: product, Quantity: 1}}, Reason: "x", At: time.Now()}, "returns")
	if err != nil {
		t.Fatal(err)
	}
	return p.Return
}

func TestCompletesAReturnOnce(t *testing.T) {
	orderstoretest.OnEach(t, completereturn.New, func(t *testing.T, s orderstoretest.Started) {
		db, h := s.DB, s.H
		r := requested(t, db)
		if _, err := db.Store.AdvanceReturn(t.Context(), r.ID, orderstore.ReturnChange{To: orderstore.ReturnReceived, At: time.Now()}, "returns"); err != nil {
			t.Fatal(err)
		}
		e := refundedEvent(t, r.OrderID, r.ID)
		for range 3 {
			if code, _ := storetest.Deliver(t, h, e); code != 204 {
				t.Fatalf("status %d", code)
			}
		}
		got, err := db.Store.GetReturn(t.Context(), r.ID)
		if err != nil || got.Status != orderstore.ReturnRefunded || got.RefundID != "re_"+r.ID || len(got.History) != 3 {
			t.Fatalf("return = %+v, %v", got, err)
		}
	})
}

func TestIgnoresOrRefuses(t *testing.T) {
	db := orderstoretest.New(t, storetest.MySQLEngines(t)[0])
	h := db.Start(t, completereturn.New(), nil)
	r := requested(t, db)
	// A cancelled order's refund is not about a return.
	if code, _ := storetest.Deliver(t, h, refundedEvent(t, r.OrderID, "")); code != 204 {
		t.Fatalf("refund without a return: status %d", code)
	}
	// A return that was not received, or does not exist, can never complete.
	if code, _ := storetest.Deliver(t, h, refundedEvent(t, r.OrderID, r.ID)); code != 400 {
		t.Fatalf("not received: status %d, want 400", code)
	}
	if code, _ := storetest.Deliver(t, h, refundedEvent(t, r.OrderID, ids.New())); code != 400 {
		t.Fatalf("unknown return: status %d, want 400", code)
	}
	if got, _ := db.Store.GetReturn(t.Context(), r.ID); got.Status != orderstore.ReturnRequested {
		t.Fatalf("status moved to %s", got.Status)
	}
}
