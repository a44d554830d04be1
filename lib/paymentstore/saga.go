package paymentstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Create records p as PENDING with added (its PAYMENT_ADDED) in the outbox,
// in one transaction, then publishes added. When the order already has a
// payment it changes nothing and returns that payment with created false;
// when the order was cancelled first it returns ErrOrderCancelled.
//
// The tombstone and the payment are read with locking reads, so on MySQL a
// concurrent CancelOrder either sees this payment or is seen by it.
func (s *Store) Create(ctx context.Context, p Payment, added event.Event) (_ Payment, created bool, err error) {
	addr, err := json.Marshal(p.ShippingAddress)
	if err != nil {
		return Payment{}, false, fmt.Errorf("paymentstore: create: %w", err)
	}
	var existing Payment
	err = sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		created = false
		var one int
		switch err := tx.QueryRowContext(ctx, "SELECT 1 FROM cancelled_orders WHERE order_id = ? FOR UPDATE", p.OrderID).Scan(&one); {
		case err == nil:
			return ErrOrderCancelled
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read tombstone: %w", err)
		}
		existing, err = scan(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM payments WHERE order_id = ? FOR UPDATE", p.OrderID))
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read payment: %w", err)
		}
		t := now()
		p.Status, p.CreatedAt, p.UpdatedAt = Pending, t, t
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments (id, order_id, customer_id, amount, currency, method,
			gateway, status, shipping_address, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.OrderID, p.CustomerID, p.Amount.Amount, p.Amount.Currency, p.Method, p.Gateway, p.Status, addr,
			p.CreatedAt, p.UpdatedAt); err != nil {
			return fmt.Errorf("insert payment: %w", err)
		}
		created = true
		return outbox.AddSQL(ctx, tx, added)
	})
	switch {
	case errors.Is(err, ErrOrderCancelled):
		return Payment{}, false, fmt.Errorf("paymentstore: create for order %s: %w", p.OrderID, err)
	case sqlstore.IsDuplicate(err):
		// A concurrent delivery inserted it between our read and insert
		// (engines without locking reads): that one is the payment.
		got, gerr := s.Get(ctx, p.ID)
		return got, false, gerr
	case err != nil:
		return Payment{}, false, fmt.Errorf("paymentstore: create for order %s: %w", p.OrderID, err)
	case !created:
		return existing, false, nil
	}
	s.out.Publish(ctx, added)
	return p, true, nil
}

// Claim takes the charge or refund of payment id for d, when it is in
// status from and nobody else holds it: only the holder calls the gateway,
// so concurrent deliveries do not call it twice. A holder that dies loses
// the claim when d has passed.
func (s *Store) Claim(ctx context.Context, id string, from Status, d time.Duration) (bool, error) {
	t := now()
	res, err := s.db.ExecContext(ctx, `UPDATE payments SET lease_until = ?, updated_at = ?
		WHERE id = ? AND status = ? AND (lease_until IS NULL OR lease_until < ?)`, t.Add(d), t, id, from, t)
	if err != nil {
		return false, fmt.Errorf("paymentstore: claim %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("paymentstore: claim %s: %w", id, err)
	}
	return n == 1, nil
}

// Release gives up the claim on payment id, recording the gateway's
// transaction id when one is known (a charge still processing).
func (s *Store) Release(ctx context.Context, id, transactionID string) error {
	q, args := "UPDATE payments SET lease_until = NULL, updated_at = ? WHERE id = ?", []any{now(), id}
	if transactionID != "" {
		q, args = "UPDATE payments SET lease_until = NULL, transaction_id = ?, updated_at = ? WHERE id = ?", []any{transactionID, now(), id}
	}
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("paymentstore: release %s: %w", id, err)
	}
	return nil
}

// Settlement is how a charge ended.
type Settlement struct {
	Status        Status // Succeeded or Failed
	TransactionID string
	FailureCode   string
	FailureReason string
	// Reply is the PAYMENT_SUCCESS or PAYMENT_FAILURE answering the charge.
	Reply event.Event
}

// Settle moves payment id from PENDING to o.Status, storing o.Reply for
// redeliveries, and drops the claim. When the payment is no longer PENDING
// it returns the payment as it is and ErrStateChanged.
func (s *Store) Settle(ctx context.Context, id string, o Settlement) (Payment, error) {
	if o.Status != Succeeded && o.Status != Failed {
		return Payment{}, fmt.Errorf("paymentstore: settle %s: status %s is not an outcome", id, o.Status)
	}
	reply, err := encodeEvent(&o.Reply)
	if err != nil {
		return Payment{}, fmt.Errorf("paymentstore: settle %s: %w", id, err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE payments SET status = ?, transaction_id = ?, failure_code = ?,
		failure_reason = ?, charge_reply = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND status = ?`,
		o.Status, o.TransactionID, o.FailureCode, o.FailureReason, reply, now(), id, Pending)
	if err != nil {
		return Payment{}, fmt.Errorf("paymentstore: settle %s: %w", id, err)
	}
	return s.afterUpdate(ctx, id, res)
}

// MarkRefunded moves payment id from SUCCEEDED to REFUNDED with refundID,
// storing reply (its PAYMENT_REFUNDED), and drops the claim. When the
// payment is no longer SUCCEEDED it returns it as it is and ErrStateChanged.
func (s *Store) MarkRefunded(ctx context.Context, id, refundID string, reply event.Event) (Payment, error) {
	b, err := encodeEvent(&reply)
	if err != nil {
		return Payment{}, fmt.Errorf("paymentstore: refund %s: %w", id, err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE payments SET status = ?, refund_id = ?, refund_reply = ?,
		lease_until = NULL, updated_at = ? WHERE id = ? AND status = ?`, Refunded, refundID, b, now(), id, Succeeded)
	if err != nil {
		return Payment{}, fmt.Errorf("paymentstore: refund %s: %w", id, err)
	}
	return s.afterUpdate(ctx, id, res)
}

func (s *Store) afterUpdate(ctx context.Context, id string, res sql.Result) (Payment, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return Payment{}, fmt.Errorf("paymentstore: update %s: %w", id, err)
	}
	p, err := s.Get(ctx, id)
	if err != nil {
		return Payment{}, err
	}
	if n != 1 {
		return p, fmt.Errorf("paymentstore: update %s (now %s): %w", id, p.Status, ErrStateChanged)
	}
	return p, nil
}

// CancelOrder records that orderID was cancelled, so a charge that has not
// started yet never starts, and returns the order's payment if it has one.
func (s *Store) CancelOrder(ctx context.Context, orderID string) (p Payment, found bool, err error) {
	err = sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		found = false
		if _, err := tx.ExecContext(ctx, `INSERT INTO cancelled_orders (order_id, cancelled_at) VALUES (?, ?)
			ON DUPLICATE KEY UPDATE order_id = order_id`, orderID, now()); err != nil {
			return fmt.Errorf("insert tombstone: %w", err)
		}
		var err error
		p, err = scan(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM payments WHERE order_id = ? FOR UPDATE", orderID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return fmt.Errorf("read payment: %w", err)
		}
		found = true
		return nil
	})
	if err != nil {
		return Payment{}, false, fmt.Errorf("paymentstore: cancel order %s: %w", orderID, err)
	}
	return p, found, nil
}
