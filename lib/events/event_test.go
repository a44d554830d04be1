package events

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/money"
)

var at = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// samples holds one valid data value per type.
func samples() map[Type]Data {
	addr := Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"}
	usd := money.New(1999, "USD")
	return map[Type]Data{
		UserRegistered:           UserRegisteredData{UserID: "u1", Email: "a@b.c", Name: "A", Role: "customer", RegisteredAt: at},
		UserUpdated:              UserUpdatedData{UserID: "u1", Email: "a@b.c", Name: "A", UpdatedAt: at},
		UserDeleted:              UserDeletedData{UserID: "u1", DeletedAt: at},
		ProductAdded:             ProductAddedData{ProductID: "p1", SellerID: "s1", Name: "Mug", Category: "kitchen", Price: usd, Stock: 3, Version: 1, AddedAt: at},
		ProductUpdated:           ProductUpdatedData{ProductID: "p1", SellerID: "s1", Changed: []string{"price"}, Name: "Mug", Category: "kitchen", Price: usd, Stock: 3, Version: 2, UpdatedAt: at},
		ProductDeleted:           ProductDeletedData{ProductID: "p1", Version: 3, DeletedAt: at},
		OrderPlaced:              OrderPlacedData{OrderID: "o1", CustomerID: "u1", Items: []PricedItem{{ProductID: "p1", Quantity: 2, UnitPrice: usd}}, Total: money.New(usd.Amount*2, usd.Currency), ShippingAddress: addr, PaymentMethod: "pm_card_visa", PlacedAt: at},
		OrderCancelled:           OrderCancelledData{OrderID: "o1", CustomerID: "u1", Reason: ReasonOutOfStock, CancelledAt: at},
		OrderCompleted:           OrderCompletedData{OrderID: "o1", CustomerID: "u1", CompletedAt: at},
		StockReserved:            StockReservedData{OrderID: "o1", CustomerID: "u1", Items: []Item{{ProductID: "p1", Quantity: 2}}, Total: usd, PaymentMethod: "pm_card_visa", ShippingAddress: addr},
		StockRejected:            StockRejectedData{OrderID: "o1", Shortages: []Shortage{{ProductID: "p1", Requested: 2, Available: 1}}},
		ReturnRequested:          ReturnRequestedData{ReturnID: "r1", OrderID: "o1", CustomerID: "u1", Items: []PricedItem{{ProductID: "p1", Quantity: 1, UnitPrice: usd}}, Amount: usd, Reason: "too small", RequestedAt: at},
		ReturnReceived:           ReturnReceivedData{ReturnID: "r1", OrderID: "o1", CustomerID: "u1", Items: []Item{{ProductID: "p1", Quantity: 1}}, Amount: usd, ReceivedAt: at},
		ReturnRejected:           ReturnRejectedData{ReturnID: "r1", OrderID: "o1", Reason: "worn", RejectedAt: at},
		ReviewAdded:              ReviewAddedData{ReviewID: "v1", ProductID: "p1", AuthorID: "u1", Rating: 4, Revision: 1, AddedAt: at},
		ReviewUpdated:            ReviewUpdatedData{ReviewID: "v1", ProductID: "p1", Rating: 2, Visible: true, Revision: 2, UpdatedAt: at},
		ReviewDeleted:            ReviewDeletedData{ReviewID: "v1", ProductID: "p1", DeletedAt: at},
		PaymentAdded:             PaymentAddedData{PaymentID: "pay1", OrderID: "o1", Amount: usd, Method: "pm_card_visa", Gateway: "sandbox", CreatedAt: at},
		PaymentSuccess:           PaymentSuccessData{PaymentID: "pay1", OrderID: "o1", TransactionID: "tx1", Amount: usd, Method: "pm_card_visa", PaidAt: at},
		PaymentFailure:           PaymentFailureData{PaymentID: "pay1", OrderID: "o1", Amount: usd, Method: "pm_card_chargeDeclined", Code: "card_declined", FailedAt: at},
		PaymentRefunded:          PaymentRefundedData{PaymentID: "pay1", OrderID: "o1", Amount: usd, RefundID: "re1", RefundedAt: at},
		DeliveryStarted:          DeliveryStartedData{DeliveryID: "d1", OrderID: "o1", Address: addr, Partner: Partner{ID: "sandbox", Name: "Sandbox Courier"}, StartedAt: at},
		DeliveryCourieredPartner: DeliveryCourieredPartnerData{DeliveryID: "d1", OrderID: "o1", Partner: Partner{ID: "sandbox", Name: "Sandbox Courier"}, TrackingNumber: "TRK1", CourieredAt: at},
		DeliveryCompleted:        DeliveryCompletedData{DeliveryID: "d1", OrderID: "o1", CompletedAt: at},
	}
}

func TestNewSetsEveryAttributeAndRoundTrips(t *testing.T) {
	tp := NewTraceparent()
	ctx := WithTraceparent(context.Background(), tp)
	all := samples()
	if len(all) != len(Types()) {
		t.Fatalf("samples cover %d of %d types", len(all), len(Types()))
	}
	for typ, d := range all {
		t.Run(string(typ), func(t *testing.T) {
			e, err := New(ctx, "orders", d)
			if err != nil {
				t.Fatal(err)
			}
			checks := map[string]struct{ got, want string }{
				"type":         {e.Type(), string(typ)},
				"source":       {e.Source(), "/knshop/orders"},
				"subject":      {e.Subject(), d.EventSubject()},
				"dataschema":   {e.DataSchema(), "urn:knshop:schema:" + string(typ) + ":1"},
				"contenttype":  {e.DataContentType(), "application/json"},
				"partitionkey": {e.Extensions()[ExtPartitionKey].(string), d.EventPartitionKey()},
				"traceparent":  {e.Extensions()[ExtTraceparent].(string), tp},
			}
			for name, c := range checks {
				if c.got != c.want || c.got == "" {
					t.Errorf("%s = %q, want %q", name, c.got, c.want)
				}
			}
			if e.Time().Location() != time.UTC || time.Since(e.Time()) > time.Minute {
				t.Errorf("time = %v, want now in UTC", e.Time())
			}
			// Through the wire and back.
			wire, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var back event.Event
			if err := json.Unmarshal(wire, &back); err != nil {
				t.Fatal(err)
			}
			e2, _ := lookup(typ)
			into := newData(e2.data)
			if err := Decode(back, into); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got, _ := json.Marshal(into); string(got) != string(mustJSON(t, d)) {
				t.Fatalf("round trip changed data:\n got %s\nwant %s", got, mustJSON(t, d))
			}
		})
	}
}

func TestNewRefusesDataOutsideItsSchema(t *testing.T) {
	cases := map[string]Data{
		"missing order id":  OrderCancelledData{CustomerID: "u1", Reason: ReasonOutOfStock, CancelledAt: at},
		"unknown reason":    OrderCancelledData{OrderID: "o1", CustomerID: "u1", Reason: "bored", CancelledAt: at},
		"quantity zero":     StockReservedData{OrderID: "o1", CustomerID: "u1", Items: []Item{{ProductID: "p", Quantity: 0}}, Total: money.New(1, "USD"), PaymentMethod: "pm", ShippingAddress: Address{Line1: "a", City: "b", PostalCode: "c", Country: "US"}},
		"negative money":    PaymentAddedData{PaymentID: "p", OrderID: "o", Amount: money.New(-5, "USD"), Method: "m", Gateway: "g", CreatedAt: at},
		"bad currency":      PaymentAddedData{PaymentID: "p", OrderID: "o", Amount: money.New(5, "dollars"), Method: "m", Gateway: "g", CreatedAt: at},
		"no shortages":      StockRejectedData{OrderID: "o1"},
		"rating of 6":       ReviewAddedData{ReviewID: "v", ProductID: "p", AuthorID: "u", Rating: 6, Revision: 1, AddedAt: at},
		"return of nothing": ReturnReceivedData{ReturnID: "r", OrderID: "o", CustomerID: "u", Amount: money.New(5, "USD"), ReceivedAt: at},
		"role not in enum":  UserRegisteredData{UserID: "u", Email: "e", Name: "n", Role: "root", RegisteredAt: at},
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := New(context.Background(), "x", d); !errors.Is(err, ErrInvalid) {
				t.Fatalf("New = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestDecodeRejectsInvalidEventsPermanently(t *testing.T) {
	good, err := New(context.Background(), "orders", samples()[OrderCancelled])
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(e *event.Event){
		"other type":    func(e *event.Event) { e.SetType(string(OrderPlaced)) },
		"newer schema":  func(e *event.Event) { e.SetDataSchema("urn:knshop:schema:ORDER_CANCELLED:2") },
		"not json":      func(e *event.Event) { _ = e.SetData("text/plain", "hello") },
		"missing field": func(e *event.Event) { _ = e.SetData(event.ApplicationJSON, map[string]any{"orderId": "o1"}) },
		"wrong field type": func(e *event.Event) {
			_ = e.SetData(event.ApplicationJSON, map[string]any{"orderId": 5, "customerId": "u", "reason": "out_of_stock", "cancelledAt": at})
		},
		"bad timestamp": func(e *event.Event) {
			_ = e.SetData(event.ApplicationJSON, map[string]any{"orderId": "o", "customerId": "u", "reason": "out_of_stock", "cancelledAt": "yesterday"})
		},
		"no id": func(e *event.Event) { e.SetID("") },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			e := good.Clone()
			mutate(&e)
			var d OrderCancelledData
			err := Decode(e, &d)
			if !IsInvalid(err) {
				t.Fatalf("Decode = %v, want an invalid-event error", err)
			}
			var p interface{ Permanent() bool }
			if !errors.As(err, &p) || !p.Permanent() {
				t.Fatalf("error %v is not marked permanent", err)
			}
		})
	}
}

func TestTraceparent(t *testing.T) {
	e, err := New(context.Background(), "auth", samples()[UserDeleted])
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := e.Extensions()[ExtTraceparent].(string)
	if !ValidTraceparent(tp) {
		t.Fatalf("an event built without a trace got traceparent %q", tp)
	}
	ctx := ContextFor(context.Background(), e)
	if Traceparent(ctx) != tp || TraceID(tp) != tp[3:35] {
		t.Fatal("ContextFor does not carry the event's trace")
	}
	if ctx := WithTraceparent(context.Background(), "garbage"); Traceparent(ctx) != "" {
		t.Fatal("an invalid traceparent was accepted")
	}
	if !strings.HasPrefix(NewTraceparent(), "00-") {
		t.Fatal("NewTraceparent has no version prefix")
	}
}

func newData(d Data) Data {
	return reflect.New(reflect.TypeOf(d).Elem()).Interface().(Data)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidTraceparent(t *testing.T) {
	const good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := map[string]bool{
		good:                               true,
		strings.ToUpper(good):              false, // upper-case hex
		good[:54]:                          false, // short
		good + "0":                         false, // long
		strings.Replace(good, "-", "_", 1): false,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g": false, // not hex
		"00-4bf92f3577b34da6a3ce929d0e0e47360-0f067aa0ba902b7-01": false, // a dash moved
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01": false, // zero trace id
		"":        false,
		"garbage": false,
	}
	for tp, want := range tests {
		if got := ValidTraceparent(tp); got != want {
			t.Errorf("ValidTraceparent(%q) = %v, want %v", tp, got, want)
		}
	}
}
