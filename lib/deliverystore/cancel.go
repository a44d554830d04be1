package deliverystore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/knshop/knshop/lib/sqlstore"
)

// CancelOutcome is what CancelOrder found and did.
type CancelOutcome string

// The outcomes of CancelOrder.
const (
	// NoDelivery: the order has no delivery; the tombstone keeps one from
	// being created later.
	NoDelivery CancelOutcome = "no_delivery"
	// CancelledNow: the order's STARTED delivery was moved to CANCELLED.
	CancelledNow CancelOutcome = "cancelled"
	// AlreadyCancelled: the delivery was CANCELLED before; nothing changed.
	AlreadyCancelled CancelOutcome = "already_cancelled"
	// TooLate: the delivery is COURIERED or DELIVERED and stays so.
	TooLate CancelOutcome = "too_late"
)

// Cancellation is the result of CancelOrder: the outcome and, unless it is
// NoDelivery, the order's delivery as it is afterwards.
type Cancellation struct {
	Outcome  CancelOutcome
	Delivery Delivery
}

// CancelOrder records that orderID was cancelled (for reason, at at) and,
// in the same transaction, cancels the order's delivery when it is still
// STARTED, with a history entry. A delivery already on its way (COURIERED,
// DELIVERED) is left alone. Calling it again changes nothing.
//
// The tombstone is written before the delivery is read with a locking read,
// the order Create takes them in, so on MySQL a concurrent Create either
// sees the tombstone or has committed the delivery this call then cancels.
func (s *Store) CancelOrder(ctx context.Context, orderID, reason string, at time.Time) (Cancellation, error) {
	at = sqlstore.Time(at)
	var c Cancellation
	err := sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		c = Cancellation{}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cancelled_orders (order_id, reason, cancelled_at) VALUES (?, ?, ?)
			ON DUPLICATE KEY UPDATE order_id = order_id`, orderID, reason, at); err != nil {
			return fmt.Errorf("insert tombstone: %w", err)
		}
		d, err := get(ctx, tx, "SELECT "+columns+" FROM deliveries WHERE order_id = ? FOR UPDATE", orderID)
		switch {
		case errors.Is(err, ErrNotFound):
			c.Outcome = NoDelivery
			return nil
		case err != nil:
			return err
		}
		switch d.Status {
		case Cancelled:
			c = Cancellation{Outcome: AlreadyCancelled, Delivery: d}
			return nil
		case Started:
		default:
			c = Cancellation{Outcome: TooLate, Delivery: d}
			return nil
		}
		if err := move(ctx, tx, &d, Cancelled, at); err != nil {
			return err
		}
		c = Cancellation{Outcome: CancelledNow, Delivery: d}
		return nil
	})
	if err != nil {
		return Cancellation{}, fmt.Errorf("deliverystore: cancel order %s: %w", orderID, err)
	}
	return c, nil
}

// OrderCancelled reports whether orderID has a tombstone.
func (s *Store) OrderCancelled(ctx context.Context, orderID string) (bool, error) {
	var one int
	switch err := s.db.QueryRowContext(ctx, "SELECT 1 FROM cancelled_orders WHERE order_id = ?", orderID).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("deliverystore: read tombstone of %s: %w", orderID, err)
	}
	return true, nil
}
