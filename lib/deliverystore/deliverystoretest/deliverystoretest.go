// Package deliverystoretest holds the test fixtures of the deliveries
// area: an opened deliveries database, a delivery with the
// DELIVERY_STARTED that answers it, and the events the delivery functions
// react to.
package deliverystoretest

import (
	"context"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Address is the shipping address of the fixtures' orders.
var Address = events.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"}

// Open opens (and migrates) the deliveries database c names, closed when
// the test ends.
func Open(t testing.TB, c sqlstore.Config) *deliverystore.Store {
	t.Helper()
	s, err := deliverystore.Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// NewDelivery is the delivery start-delivery makes for orderID, of
// customer, assigned to courier ("" for none), with the sandbox partner,
// and the DELIVERY_STARTED that answers it.
func NewDelivery(t testing.TB, orderID, customer, courier string) (deliverystore.Delivery, event.Event) {
	t.Helper()
	d := deliverystore.Delivery{
		ID: ids.Derive(orderID, "delivery"), OrderID: orderID, CustomerID: customer, CourierID: courier,
		Partner: events.Partner{ID: "sandbox", Name: "sandbox"}, Address: Address, CreatedAt: time.Now().UTC(),
	}
	return d, Started(t, d)
}

// Started is the DELIVERY_STARTED that answers the creation of d.
func Started(t testing.TB, d deliverystore.Delivery) event.Event {
	t.Helper()
	e, err := events.New(context.Background(), "start-delivery", events.DeliveryStartedData{
		DeliveryID: d.ID, OrderID: d.OrderID, Address: d.Address, Partner: d.Partner, StartedAt: d.CreatedAt})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Create does what start-delivery does for orderID: creates its delivery
// (NewDelivery, customer cust-1, no courier) in s.
func Create(t testing.TB, s *deliverystore.Store, orderID string) (created bool, err error) {
	t.Helper()
	d, reply := NewDelivery(t, orderID, "cust-1", "")
	_, created, err = s.Create(context.Background(), d, reply)
	return created, err
}

// Paid is the PAYMENT_SUCCESS of orderID (customer cust-1) that
// charge-payment answers, shipping to address (nil for none).
func Paid(t testing.TB, orderID string, address *events.Address) event.Event {
	t.Helper()
	e, err := events.New(context.Background(), "charge-payment", events.PaymentSuccessData{
		PaymentID: ids.New(), OrderID: orderID, CustomerID: "cust-1", TransactionID: "tx-1",
		Amount: money.New(1999, "USD"), Method: "pm_card_visa", PaidAt: time.Now().UTC(), ShippingAddress: address,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Cancelled is the ORDER_CANCELLED of orderID (customer cust-1) for reason.
func Cancelled(t testing.TB, orderID, reason string) event.Event {
	t.Helper()
	e, err := events.New(context.Background(), "orders", events.OrderCancelledData{
		OrderID: orderID, CustomerID: "cust-1", Reason: reason, CancelledAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
