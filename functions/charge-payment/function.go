// Package chargepayment is the charge-payment function: on STOCK_RESERVED
// it records the order's payment (PAYMENT_ADDED through the outbox), charges
// the gateway under the payment id as idempotency key, and answers with
// PAYMENT_SUCCESS or PAYMENT_FAILURE, stored with the payment so that a
// redelivery answers the same event and never charges twice.
package chargepayment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/payment"
	"github.com/knshop/knshop/lib/paymentstore"
)

// Name is the function's name.
const Name = "charge-payment"

// ErrChargeInFlight: another delivery of the same event is charging right
// now; the Broker retries this one later and it then answers that outcome.
var ErrChargeInFlight = errors.New("charge-payment: the charge is in flight")

// CodePaymentRejected is the failure code of a charge the gateway refused
// as a request (not as a card): an amount it cannot take, for instance.
const CodePaymentRejected = "payment_rejected"

// store is what the function needs of the payments database.
type store interface {
	Create(ctx context.Context, p paymentstore.Payment, added event.Event) (paymentstore.Payment, bool, error)
	Get(ctx context.Context, id string) (paymentstore.Payment, error)
	Claim(ctx context.Context, id string, from paymentstore.Status, d time.Duration) (bool, error)
	Release(ctx context.Context, id, transactionID string) error
	Settle(ctx context.Context, id string, o paymentstore.Settlement) (paymentstore.Payment, error)
}

// New returns an unstarted charge-payment: it opens the gateway and the payments
// database (paymentstore.OpenKit); the runtime keeps the database.
func New() *fn.Reaction[*paymentstore.Kit[store]] {
	return fn.On(Name, paymentstore.OpenKit[store](Name), handle)
}

// handle charges the order of a STOCK_RESERVED event once.
func handle(ctx context.Context, k *paymentstore.Kit[store], d events.StockReservedData) (*event.Event, error) {
	// A total the gateway cannot charge (zero, or over its maximum) is
	// refused by the gateway as a request: PAYMENT_FAILURE, never a dead
	// letter, so the order is cancelled and its stock released.
	log := fn.Logger(ctx).With("order_id", d.OrderID)
	p := paymentstore.Payment{
		ID: ids.Derive(d.OrderID, "payment"), OrderID: d.OrderID, CustomerID: d.CustomerID,
		Amount: d.Total, Method: payment.Describe(d.PaymentMethod), Gateway: k.Gateway.Name(),
		ShippingAddress: d.ShippingAddress, CreatedAt: time.Now().UTC(),
	}
	added, err := paymentstore.AddedEvent(ctx, Name, p)
	if err != nil {
		return nil, fmt.Errorf("charge-payment: %w", err)
	}
	p, created, err := k.Store.Create(ctx, p, added)
	switch {
	case errors.Is(err, paymentstore.ErrOrderCancelled):
		log.InfoContext(ctx, "order was cancelled before its charge; not charging")
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("charge-payment: order %s: %w", d.OrderID, err)
	}
	log = log.With("payment_id", p.ID, "status", p.Status, "created", created)
	return charge(fn.WithLogger(ctx, log), k, p, d.PaymentMethod)
}

// charge settles p: it answers a settled payment's stored reply, or takes
// the claim, charges and stores the outcome with its reply.
func charge(ctx context.Context, k *paymentstore.Kit[store], p paymentstore.Payment, token string) (*event.Event, error) {
	log := fn.Logger(ctx)
	if reply, done, err := paymentstore.Turn(ctx, Name, p, answered,
		func(ctx context.Context) (bool, error) {
			return k.Store.Claim(ctx, p.ID, paymentstore.Pending, k.Config.Claim)
		},
		func(ctx context.Context) (paymentstore.Payment, error) { return k.Store.Get(ctx, p.ID) },
		fmt.Errorf("%w: payment %s", ErrChargeInFlight, p.ID)); done {
		return reply, err
	}
	cctx, cancel := context.WithTimeout(ctx, k.Config.Payment.Timeout)
	defer cancel()
	res, err := k.Gateway.Charge(cctx, payment.ChargeRequest{
		IdempotencyKey: p.ID, OrderID: p.OrderID, PaymentID: p.ID, Amount: p.Amount, Method: token,
	})
	switch {
	case errors.Is(err, payment.ErrRejected), errors.Is(err, payment.ErrIdempotencyConflict):
		// A business outcome: the charge can never be made as asked.
		log.WarnContext(ctx, "the gateway refused the charge request", "error", err)
		res = payment.ChargeResult{Outcome: payment.Declined, Code: CodePaymentRejected, Reason: "The payment gateway refused the request."}
	case err != nil:
		release(ctx, k, p.ID, "")
		return nil, fmt.Errorf("charge-payment: payment %s: %w", p.ID, err)
	}
	if res.Outcome == payment.Processing {
		log.InfoContext(ctx, "charge is processing; its webhook will settle it", "transaction_id", res.TransactionID)
		release(ctx, k, p.ID, res.TransactionID)
		return nil, nil
	}
	return settle(ctx, k, p, res)
}

// settle stores the charge's outcome with its reply and answers it.
func settle(ctx context.Context, k *paymentstore.Kit[store], p paymentstore.Payment, res payment.ChargeResult) (*event.Event, error) {
	o := paymentstore.Settlement{Status: paymentstore.Succeeded, TransactionID: res.TransactionID}
	if res.Outcome != payment.Succeeded {
		o.Status, o.FailureCode, o.FailureReason = paymentstore.Failed, res.Code, res.Reason
	}
	p.Status, p.TransactionID, p.FailureCode, p.FailureReason = o.Status, o.TransactionID, o.FailureCode, o.FailureReason
	reply, err := paymentstore.ChargeReply(ctx, Name, p, time.Now())
	if err != nil {
		return nil, fmt.Errorf("charge-payment: %w", err)
	}
	o.Reply = reply
	now, err := k.Store.Settle(ctx, p.ID, o)
	if errors.Is(err, paymentstore.ErrStateChanged) {
		// A webhook settled it first: its reply is the answer.
		r, _, aerr := answered(now)
		return r, aerr
	}
	if err != nil {
		// The gateway answers the same under the same key: a redelivery
		// settles it without charging again.
		release(ctx, k, p.ID, res.TransactionID)
		return nil, fmt.Errorf("charge-payment: %w", err)
	}
	fn.Logger(ctx).InfoContext(ctx, "charge settled", "outcome", o.Status, "code", o.FailureCode)
	return &reply, nil
}

// answered returns the reply of a payment that is past its charge: the
// stored PAYMENT_SUCCESS or PAYMENT_FAILURE, or none once refunded (the
// order is cancelled; a success would only start a delivery).
func answered(p paymentstore.Payment) (*event.Event, bool, error) {
	switch p.Status {
	case paymentstore.Succeeded, paymentstore.Failed:
		if p.ChargeReply == nil {
			return nil, true, fmt.Errorf("charge-payment: payment %s is %s without its reply", p.ID, p.Status)
		}
		return p.ChargeReply, true, nil
	case paymentstore.Refunded:
		return nil, true, nil
	}
	return nil, false, nil
}

// release drops the claim; failing that, it lapses by itself.
func release(ctx context.Context, k *paymentstore.Kit[store], id, transactionID string) {
	if err := k.Store.Release(context.WithoutCancel(ctx), id, transactionID); err != nil {
		fn.Logger(ctx).WarnContext(ctx, "could not release the charge claim; it lapses by itself", "error", err)
	}
}
