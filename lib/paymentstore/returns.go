package paymentstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Errors of return refunds. Both are final for the return: retrying cannot
// change them.
var (
	// ErrNotRefundable: the order has no succeeded payment to refund from.
	ErrNotRefundable = errors.New("paymentstore: the order's payment cannot be refunded")
	// ErrOverRefund: the return's amount, with the refunds already made
	// for the order's other returns, is more than was paid (or in another
	// currency).
	ErrOverRefund = errors.New("paymentstore: the refunds would exceed what was paid")
)

// ReturnRefund is the refund of one return: PENDING until the gateway
// refunded it, then REFUNDED with the gateway's refund id and the
// PAYMENT_REFUNDED that answered it.
type ReturnRefund struct {
	ReturnID  string
	PaymentID string
	OrderID   string
	Amount    money.Money
	Status    Status // Pending or Refunded
	RefundID  string
	Reply     *event.Event
	// TransactionID is the payment's charge at the gateway.
	TransactionID string
	CustomerID    string
}

const returnRefundColumns = `r.return_id, r.payment_id, r.order_id, r.amount, r.currency, r.status, r.refund_id, r.reply,
	p.transaction_id, p.customer_id`

func scanReturnRefund(row scanner) (ReturnRefund, error) {
	var r ReturnRefund
	var reply []byte
	if err := row.Scan(&r.ReturnID, &r.PaymentID, &r.OrderID, &r.Amount.Amount, &r.Amount.Currency, &r.Status,
		&r.RefundID, &reply, &r.TransactionID, &r.CustomerID); err != nil {
		return ReturnRefund{}, err
	}
	var err error
	if r.Reply, err = decodeEvent(reply); err != nil {
		return ReturnRefund{}, fmt.Errorf("read reply of return refund %s: %w", r.ReturnID, err)
	}
	return r, nil
}

func getReturnRefund(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, returnID string) (ReturnRefund, error) {
	return scanReturnRefund(q.QueryRowContext(ctx, "SELECT "+returnRefundColumns+
		" FROM return_refunds r JOIN payments p ON p.id = r.payment_id WHERE r.return_id = ?", returnID))
}

// BeginReturnRefund records the refund of return returnID of amount on
// orderID's payment, PENDING, or returns the one recorded before. The
// payment's row is locked while the refunds already made for the order are
// summed, so two returns of one order never refund more than was paid
// together (ErrOverRefund); ErrNotRefundable when the order has no
// succeeded payment.
func (s *Store) BeginReturnRefund(ctx context.Context, returnID, orderID string, amount money.Money) (ReturnRefund, error) {
	var out ReturnRefund
	err := sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		p, err := scan(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM payments WHERE order_id = ? FOR UPDATE", orderID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: order %s has no payment", ErrNotRefundable, orderID)
		}
		if err != nil {
			return fmt.Errorf("read payment: %w", err)
		}
		if out, err = getReturnRefund(ctx, tx, returnID); err == nil {
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read return refund: %w", err)
		}
		if p.Status != Succeeded {
			return fmt.Errorf("%w: payment %s is %s", ErrNotRefundable, p.ID, p.Status)
		}
		var refunded sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT SUM(amount) FROM return_refunds WHERE payment_id = ?", p.ID).Scan(&refunded); err != nil {
			return fmt.Errorf("sum refunds: %w", err)
		}
		if amount.Currency != p.Amount.Currency || amount.Amount <= 0 || refunded.Int64+amount.Amount > p.Amount.Amount {
			return fmt.Errorf("%w: %s after %d refunded of the %s paid", ErrOverRefund, amount, refunded.Int64, p.Amount)
		}
		t := now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO return_refunds (return_id, payment_id, order_id, amount, currency,
			status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			returnID, p.ID, orderID, amount.Amount, amount.Currency, Pending, t, t); err != nil {
			return fmt.Errorf("insert return refund: %w", err)
		}
		out = ReturnRefund{ReturnID: returnID, PaymentID: p.ID, OrderID: orderID, Amount: amount, Status: Pending,
			TransactionID: p.TransactionID, CustomerID: p.CustomerID}
		return nil
	})
	if sqlstore.IsDuplicate(err) {
		// A concurrent delivery inserted it (engines without locking reads).
		return s.GetReturnRefund(ctx, returnID)
	}
	if err != nil {
		return ReturnRefund{}, fmt.Errorf("paymentstore: begin refund of return %s: %w", returnID, err)
	}
	return out, nil
}

// GetReturnRefund returns the refund of return returnID, or ErrNotFound.
func (s *Store) GetReturnRefund(ctx context.Context, returnID string) (ReturnRefund, error) {
	r, err := getReturnRefund(ctx, s.db, returnID)
	if errors.Is(err, sql.ErrNoRows) {
		return ReturnRefund{}, fmt.Errorf("paymentstore: return refund %s: %w", returnID, ErrNotFound)
	}
	if err != nil {
		return ReturnRefund{}, fmt.Errorf("paymentstore: return refund %s: %w", returnID, err)
	}
	return r, nil
}

// ClaimReturnRefund takes return returnID's PENDING refund for d when nobody
// else holds it: only the holder calls the gateway.
func (s *Store) ClaimReturnRefund(ctx context.Context, returnID string, d time.Duration) (bool, error) {
	t := now()
	res, err := s.db.ExecContext(ctx, `UPDATE return_refunds SET lease_until = ?, updated_at = ?
		WHERE return_id = ? AND status = ? AND (lease_until IS NULL OR lease_until < ?)`, t.Add(d), t, returnID, Pending, t)
	if err != nil {
		return false, fmt.Errorf("paymentstore: claim refund of return %s: %w", returnID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("paymentstore: claim refund of return %s: %w", returnID, err)
	}
	return n == 1, nil
}

// ReleaseReturnRefund gives up the claim on return returnID's refund.
func (s *Store) ReleaseReturnRefund(ctx context.Context, returnID string) error {
	if _, err := s.db.ExecContext(ctx, "UPDATE return_refunds SET lease_until = NULL, updated_at = ? WHERE return_id = ?",
		now(), returnID); err != nil {
		return fmt.Errorf("paymentstore: release refund of return %s: %w", returnID, err)
	}
	return nil
}

// MarkReturnRefunded moves return returnID's refund from PENDING to REFUNDED
// with refundID and reply (its PAYMENT_REFUNDED). A refund no longer
// PENDING is returned as it is, with ErrStateChanged.
func (s *Store) MarkReturnRefunded(ctx context.Context, returnID, refundID string, reply event.Event) (ReturnRefund, error) {
	b, err := encodeEvent(&reply)
	if err != nil {
		return ReturnRefund{}, fmt.Errorf("paymentstore: refund of return %s: %w", returnID, err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE return_refunds SET status = ?, refund_id = ?, reply = ?, lease_until = NULL,
		updated_at = ? WHERE return_id = ? AND status = ?`, Refunded, refundID, b, now(), returnID, Pending)
	if err != nil {
		return ReturnRefund{}, fmt.Errorf("paymentstore: refund of return %s: %w", returnID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return ReturnRefund{}, fmt.Errorf("paymentstore: refund of return %s: %w", returnID, err)
	}
	r, err := s.GetReturnRefund(ctx, returnID)
	if err != nil {
		return ReturnRefund{}, err
	}
	if n != 1 {
		return r, fmt.Errorf("paymentstore: refund of return %s (now %s): %w", returnID, r.Status, ErrStateChanged)
	}
	return r, nil
}

// ReturnRefundedEvent builds the PAYMENT_REFUNDED of a return's refund: the
// return's amount, its returnId, an id derived from the payment and the
// return (one per return, whoever builds it).
func ReturnRefundedEvent(ctx context.Context, function string, r ReturnRefund, refundID string, at time.Time) (event.Event, error) {
	e, err := events.New(ctx, function, events.PaymentRefundedData{
		PaymentID: r.PaymentID, OrderID: r.OrderID, CustomerID: r.CustomerID, Amount: r.Amount,
		RefundID: refundID, RefundedAt: at.UTC(), ReturnID: r.ReturnID,
	})
	if err != nil {
		return event.Event{}, fmt.Errorf("paymentstore: build %s: %w", events.PaymentRefunded, err)
	}
	e.SetID(ids.Derive(r.PaymentID, string(events.PaymentRefunded)+"/"+r.ReturnID))
	return e, nil
}
