package orders

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/paymentstore"
)

// TestViewShowsWhatTheStoreRowShowed: the API's own type answers exactly
// the JSON the store row used to, and leaves out what the API does not show.
func TestViewShowsWhatTheStoreRowShowed(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	reason := events.ReasonCustomerRequest
	full := orderstore.Order{
		ID: "o1", CustomerID: "c1", Status: orderstore.Cancelled,
		Items:           []orderstore.Item{{ProductID: "p1", Name: "Mug", Quantity: 2, UnitPrice: money.New(1999, "USD")}},
		Total:           money.New(3998, "USD"),
		ShippingAddress: events.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"},
		Payment:         &orderstore.Payment{ID: "pay1", Status: paymentstore.Refunded},
		Delivery:        &orderstore.Delivery{ID: "d1", Status: deliverystore.Cancelled, TrackingNumber: "TRK"},
		CancelReason:    &reason, Deadline: &at,
		History:   []orderstore.HistoryEntry{{Status: orderstore.Pending, At: at}, {Status: orderstore.Cancelled, At: at}},
		CreatedAt: at, UpdatedAt: at,
		PaymentMethod: "pm_card_visa", CustomerEmail: "c@x", CustomerName: "C", Version: 3, Redrives: 1,
	}
	for name, o := range map[string]orderstore.Order{"full": full, "bare": {ID: "o2", Status: orderstore.Pending, CreatedAt: at, UpdatedAt: at}} {
		t.Run(name, func(t *testing.T) {
			row, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			view, err := json.Marshal(viewOf(o))
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			if err := json.Unmarshal(row, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(view, &b); err != nil {
				t.Fatal(err)
			}
			// The view answers empty lists as [], the row as null.
			if ra, ok := a.(map[string]any); ok {
				for _, k := range []string{"items", "history"} {
					if ra[k] == nil {
						ra[k] = []any{}
					}
				}
			}
			if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb {
				t.Fatalf("view %s\nrow  %s", jb, ja)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
