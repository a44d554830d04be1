// Package eventstest builds valid CloudEvents of the catalogue for tests:
// Build from any data, and one builder per event type that fills a valid
// default and lets the test change what it cares about. The source is the
// type's producer, as the Broker would see it.
package eventstest

import (
	"context"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
)

// Producers is the function that emits each type (the "produced by" column
// of docs/events.md; PAYMENT_REFUNDED also comes from refund-return).
var Producers = map[events.Type]string{
	events.UserRegistered:           "auth",
	events.UserUpdated:              "users",
	events.UserDeleted:              "users",
	events.ProductAdded:             "products",
	events.ProductUpdated:           "products",
	events.ProductDeleted:           "products",
	events.OrderPlaced:              "orders",
	events.OrderCancelled:           "orders",
	events.OrderCompleted:           "orders",
	events.PaymentAdded:             "payments",
	events.PaymentSuccess:           "payments",
	events.PaymentFailure:           "payments",
	events.DeliveryStarted:          "deliveries",
	events.DeliveryCourieredPartner: "deliveries",
	events.DeliveryCompleted:        "deliveries",
	events.StockReserved:            "reserve-stock",
	events.StockRejected:            "reserve-stock",
	events.PaymentRefunded:          "refund-payment",
	events.ReturnRequested:          "returns",
	events.ReturnReceived:           "returns",
	events.ReturnRejected:           "returns",
	events.ReviewAdded:              "reviews",
	events.ReviewUpdated:            "reviews",
	events.ReviewDeleted:            "reviews",
}

// Build is the CloudEvent of d from its type's producer; data the
// catalogue's schema refuses fails the test.
func Build(t testing.TB, d events.Data) event.Event {
	t.Helper()
	e, err := events.New(context.Background(), Producers[d.EventType()], d)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func build[D events.Data](t testing.TB, d D, edit []func(*D)) event.Event {
	t.Helper()
	for _, f := range edit {
		f(&d)
	}
	return Build(t, d)
}

// Defaults of the builders.
var (
	usd     = money.New(1999, "USD")
	address = events.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"}
	partner = events.Partner{ID: "sandbox", Name: "Sandbox Courier"}
)

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// UserRegistered builds a USER_REGISTERED of a new customer.
func UserRegistered(t testing.TB, edit ...func(*events.UserRegisteredData)) event.Event {
	t.Helper()
	id := ids.New()
	return build(t, events.UserRegisteredData{UserID: id, Email: id + "@example.com", Name: "Ada", Role: "customer", RegisteredAt: now()}, edit)
}

// UserUpdated builds a USER_UPDATED of a new user's profile.
func UserUpdated(t testing.TB, edit ...func(*events.UserUpdatedData)) event.Event {
	t.Helper()
	id := ids.New()
	return build(t, events.UserUpdatedData{UserID: id, Email: id + "@example.com", Name: "Ada", Role: "customer",
		Addresses: []events.Address{}, Preferences: map[string]any{}, Version: 1, UpdatedAt: now()}, edit)
}

// UserDeleted builds a USER_DELETED.
func UserDeleted(t testing.TB, edit ...func(*events.UserDeletedData)) event.Event {
	t.Helper()
	return build(t, events.UserDeletedData{UserID: ids.New(), DeletedAt: now()}, edit)
}

// ProductAdded builds a PRODUCT_ADDED of a product with 10 units.
func ProductAdded(t testing.TB, edit ...func(*events.ProductAddedData)) event.Event {
	t.Helper()
	return build(t, events.ProductAddedData{ProductID: ids.New(), SellerID: ids.New(), Name: "Mug", Description: "A mug",
		Category: "kitchen", Price: usd, Stock: 10, Version: 1, AddedAt: now()}, edit)
}

// ProductUpdated builds a PRODUCT_UPDATED (version 2, the price changed).
func ProductUpdated(t testing.TB, edit ...func(*events.ProductUpdatedData)) event.Event {
	t.Helper()
	return build(t, events.ProductUpdatedData{ProductID: ids.New(), SellerID: ids.New(), Changed: []string{"price"}, Name: "Mug",
		Description: "A mug", Category: "kitchen", Price: usd, Stock: 10, Version: 2, UpdatedAt: now()}, edit)
}

// ProductDeleted builds a PRODUCT_DELETED (version 2).
func ProductDeleted(t testing.TB, edit ...func(*events.ProductDeletedData)) event.Event {
	t.Helper()
	return build(t, events.ProductDeletedData{ProductID: ids.New(), Version: 2, DeletedAt: now()}, edit)
}

// OrderPlaced builds an ORDER_PLACED of one unit of a new product.
func OrderPlaced(t testing.TB, edit ...func(*events.OrderPlacedData)) event.Event {
	t.Helper()
	return build(t, events.OrderPlacedData{OrderID: ids.New(), CustomerID: ids.New(),
		Items: []events.PricedItem{{ProductID: ids.New(), Name: "Mug", Quantity: 1, UnitPrice: usd}}, Total: usd,
		ShippingAddress: address, PaymentMethod: "pm_card_visa", PlacedAt: now()}, edit)
}

// OrderCancelled builds an ORDER_CANCELLED at the customer's request.
func OrderCancelled(t testing.TB, edit ...func(*events.OrderCancelledData)) event.Event {
	t.Helper()
	return build(t, events.OrderCancelledData{OrderID: ids.New(), CustomerID: ids.New(), Reason: events.ReasonCustomerRequest, CancelledAt: now()}, edit)
}

// OrderCompleted builds an ORDER_COMPLETED of one unit of a new product.
func OrderCompleted(t testing.TB, edit ...func(*events.OrderCompletedData)) event.Event {
	t.Helper()
	return build(t, events.OrderCompletedData{OrderID: ids.New(), CustomerID: ids.New(), CustomerName: "Ada",
		Items: []events.Item{{ProductID: ids.New(), Quantity: 1}}, CompletedAt: now()}, edit)
}

// StockReserved builds a STOCK_RESERVED of one unit, to be paid with the
// sandbox Visa.
func StockReserved(t testing.TB, edit ...func(*events.StockReservedData)) event.Event {
	t.Helper()
	return build(t, events.StockReservedData{OrderID: ids.New(), CustomerID: ids.New(),
		Items: []events.Item{{ProductID: ids.New(), Quantity: 1}}, Total: usd, PaymentMethod: "pm_card_visa", ShippingAddress: address}, edit)
}

// StockRejected builds a STOCK_REJECTED short of one unit.
func StockRejected(t testing.TB, edit ...func(*events.StockRejectedData)) event.Event {
	t.Helper()
	return build(t, events.StockRejectedData{OrderID: ids.New(), Shortages: []events.Shortage{{ProductID: ids.New(), Requested: 1, Available: 0}}}, edit)
}

// PaymentAdded builds a PAYMENT_ADDED.
func PaymentAdded(t testing.TB, edit ...func(*events.PaymentAddedData)) event.Event {
	t.Helper()
	return build(t, events.PaymentAddedData{PaymentID: ids.New(), OrderID: ids.New(), Amount: usd, Method: "card_visa", Gateway: "sandbox", CreatedAt: now()}, edit)
}

// PaymentSuccess builds a PAYMENT_SUCCESS with the default address.
func PaymentSuccess(t testing.TB, edit ...func(*events.PaymentSuccessData)) event.Event {
	t.Helper()
	addr := address
	return build(t, events.PaymentSuccessData{PaymentID: ids.New(), OrderID: ids.New(), CustomerID: ids.New(), TransactionID: "sbx_ch_1",
		Amount: usd, Method: "card_visa", ShippingAddress: &addr, PaidAt: now()}, edit)
}

// PaymentFailure builds a PAYMENT_FAILURE of a declined card.
func PaymentFailure(t testing.TB, edit ...func(*events.PaymentFailureData)) event.Event {
	t.Helper()
	return build(t, events.PaymentFailureData{PaymentID: ids.New(), OrderID: ids.New(), Amount: usd, Method: "card_visa",
		Code: "card_declined", Reason: "Your card was declined.", FailedAt: now()}, edit)
}

// PaymentRefunded builds a PAYMENT_REFUNDED of a whole payment (set
// ReturnID for a return's).
func PaymentRefunded(t testing.TB, edit ...func(*events.PaymentRefundedData)) event.Event {
	t.Helper()
	return build(t, events.PaymentRefundedData{PaymentID: ids.New(), OrderID: ids.New(), Amount: usd, RefundID: "sbx_re_1", RefundedAt: now()}, edit)
}

// DeliveryStarted builds a DELIVERY_STARTED with the default address.
func DeliveryStarted(t testing.TB, edit ...func(*events.DeliveryStartedData)) event.Event {
	t.Helper()
	return build(t, events.DeliveryStartedData{DeliveryID: ids.New(), OrderID: ids.New(), Address: address, Partner: partner, StartedAt: now()}, edit)
}

// DeliveryCourieredPartner builds a DELIVERY_COURIERED_PARTNER.
func DeliveryCourieredPartner(t testing.TB, edit ...func(*events.DeliveryCourieredPartnerData)) event.Event {
	t.Helper()
	return build(t, events.DeliveryCourieredPartnerData{DeliveryID: ids.New(), OrderID: ids.New(), Partner: partner,
		TrackingNumber: "TRK1", CourieredAt: now()}, edit)
}

// DeliveryCompleted builds a DELIVERY_COMPLETED.
func DeliveryCompleted(t testing.TB, edit ...func(*events.DeliveryCompletedData)) event.Event {
	t.Helper()
	return build(t, events.DeliveryCompletedData{DeliveryID: ids.New(), OrderID: ids.New(), CompletedAt: now()}, edit)
}

// ReturnRequested builds a RETURN_REQUESTED of one unit.
func ReturnRequested(t testing.TB, edit ...func(*events.ReturnRequestedData)) event.Event {
	t.Helper()
	return build(t, events.ReturnRequestedData{ReturnID: ids.New(), OrderID: ids.New(), CustomerID: ids.New(),
		Items: []events.PricedItem{{ProductID: ids.New(), Quantity: 1, UnitPrice: usd}}, Amount: usd, Reason: "too small", RequestedAt: now()}, edit)
}

// ReturnReceived builds a RETURN_RECEIVED of one unit.
func ReturnReceived(t testing.TB, edit ...func(*events.ReturnReceivedData)) event.Event {
	t.Helper()
	return build(t, events.ReturnReceivedData{ReturnID: ids.New(), OrderID: ids.New(), CustomerID: ids.New(),
		Items: []events.Item{{ProductID: ids.New(), Quantity: 1}}, Amount: usd, ReceivedAt: now()}, edit)
}

// ReturnRejected builds a RETURN_REJECTED.
func ReturnRejected(t testing.TB, edit ...func(*events.ReturnRejectedData)) event.Event {
	t.Helper()
	return build(t, events.ReturnRejectedData{ReturnID: ids.New(), OrderID: ids.New(), Reason: "worn", RejectedAt: now()}, edit)
}

// ReviewAdded builds a REVIEW_ADDED rating 4.
func ReviewAdded(t testing.TB, edit ...func(*events.ReviewAddedData)) event.Event {
	t.Helper()
	return build(t, events.ReviewAddedData{ReviewID: ids.New(), ProductID: ids.New(), AuthorID: ids.New(), Rating: 4, Revision: 1, AddedAt: now()}, edit)
}

// ReviewUpdated builds a REVIEW_UPDATED (revision 2, visible, rating 3).
func ReviewUpdated(t testing.TB, edit ...func(*events.ReviewUpdatedData)) event.Event {
	t.Helper()
	return build(t, events.ReviewUpdatedData{ReviewID: ids.New(), ProductID: ids.New(), Rating: 3, Visible: true, Revision: 2, UpdatedAt: now()}, edit)
}

// ReviewDeleted builds a REVIEW_DELETED.
func ReviewDeleted(t testing.TB, edit ...func(*events.ReviewDeletedData)) event.Event {
	t.Helper()
	return build(t, events.ReviewDeletedData{ReviewID: ids.New(), ProductID: ids.New(), DeletedAt: now()}, edit)
}
