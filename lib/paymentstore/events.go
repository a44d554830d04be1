package paymentstore

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
)

// EventID is the id of a payment's event of type t. There is at most one
// event of each type per payment, whichever function builds it, so every
// rebuild and every redelivered reply carries the same id and consumers can
// discard the repeats.
func EventID(paymentID string, t events.Type) string { return ids.Derive(paymentID, string(t)) }

// AddedEvent builds p's PAYMENT_ADDED, emitted by function.
func AddedEvent(ctx context.Context, function string, p Payment) (event.Event, error) {
	return build(ctx, function, p.ID, events.PaymentAddedData{
		PaymentID: p.ID, OrderID: p.OrderID, CustomerID: p.CustomerID, Amount: p.Amount,
		Method: p.Method, Gateway: p.Gateway, CreatedAt: p.CreatedAt,
	})
}

// ChargeReply builds the event answering p's charge: PAYMENT_SUCCESS when
// p.Status is SUCCEEDED (with the shipping address for start-delivery),
// PAYMENT_FAILURE when it is FAILED.
func ChargeReply(ctx context.Context, function string, p Payment, at time.Time) (event.Event, error) {
	switch p.Status {
	case Succeeded:
		addr := p.ShippingAddress
		return build(ctx, function, p.ID, events.PaymentSuccessData{
			PaymentID: p.ID, OrderID: p.OrderID, CustomerID: p.CustomerID, TransactionID: p.TransactionID,
			Amount: p.Amount, Method: p.Method, ShippingAddress: &addr, PaidAt: at.UTC(),
		})
	case Failed:
		return build(ctx, function, p.ID, events.PaymentFailureData{
			PaymentID: p.ID, OrderID: p.OrderID, CustomerID: p.CustomerID, Amount: p.Amount, Method: p.Method,
			Code: p.FailureCode, Reason: p.FailureReason, FailedAt: at.UTC(),
		})
	}
	return event.Event{}, fmt.Errorf("paymentstore: no charge reply for a %s payment", p.Status)
}

// RefundedEvent builds p's PAYMENT_REFUNDED for refundID.
func RefundedEvent(ctx context.Context, function string, p Payment, refundID string, at time.Time) (event.Event, error) {
	return build(ctx, function, p.ID, events.PaymentRefundedData{
		PaymentID: p.ID, OrderID: p.OrderID, CustomerID: p.CustomerID, Amount: p.Amount,
		RefundID: refundID, RefundedAt: at.UTC(),
	})
}

func build(ctx context.Context, function, paymentID string, d events.Data) (event.Event, error) {
	e, err := events.New(ctx, function, d)
	if err != nil {
		return event.Event{}, fmt.Errorf("paymentstore: build %s: %w", d.EventType(), err)
	}
	e.SetID(EventID(paymentID, d.EventType()))
	return e, nil
}
