package paymentstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sqlstore"
)

// WebhookResult says what applying a webhook did.
type WebhookResult string

// Results of ApplyWebhook.
const (
	// Applied: the payment was settled and its event written.
	Applied WebhookResult = "applied"
	// Duplicate: this webhook event was applied before.
	Duplicate WebhookResult = "duplicate"
	// Unmatched: no payment matches it (it is still recorded).
	Unmatched WebhookResult = "unmatched"
	// Stale: the payment is already past PENDING; nothing moves backwards.
	Stale WebhookResult = "stale"
)

// WebhookChange is what a gateway's webhook says about one payment.
type WebhookChange struct {
	Gateway string
	// EventID is the gateway's webhook event id: each is applied once.
	EventID string
	// PaymentID or, when the gateway does not carry it, TransactionID
	// finds the payment.
	PaymentID     string
	TransactionID string
	// Settlement is the payment's new state, without Reply: Build makes it
	// from the payment as stored.
	Outcome Settlement
	Build   func(Payment) (event.Event, error)
}

// ApplyWebhook settles a PENDING payment from a verified webhook, once per
// webhook event: in one transaction it records the event id, moves the
// payment, stores the reply and puts it in the outbox; then publishes it.
func (s *Store) ApplyWebhook(ctx context.Context, c WebhookChange) (WebhookResult, error) {
	var result WebhookResult
	var reply event.Event
	err := sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO webhook_events (gateway, id, received_at) VALUES (?, ?, ?)",
			c.Gateway, c.EventID, now()); err != nil {
			if sqlstore.IsDuplicate(err) {
				result = Duplicate
				return nil
			}
			return fmt.Errorf("record webhook: %w", err)
		}
		p, err := findForWebhook(ctx, tx, c)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			result = Unmatched
			return nil
		case err != nil:
			return err
		case p.Status != Pending:
			result = Stale
			return nil
		}
		o := c.Outcome
		if o.TransactionID == "" {
			o.TransactionID = p.TransactionID
		}
		p.Status, p.TransactionID, p.FailureCode, p.FailureReason = o.Status, o.TransactionID, o.FailureCode, o.FailureReason
		if reply, err = c.Build(p); err != nil {
			return fmt.Errorf("build reply: %w", err)
		}
		b, err := encodeEvent(&reply)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payments SET status = ?, transaction_id = ?, failure_code = ?,
			failure_reason = ?, charge_reply = ?, lease_until = NULL, updated_at = ? WHERE id = ?`,
			o.Status, o.TransactionID, o.FailureCode, o.FailureReason, b, now(), p.ID); err != nil {
			return fmt.Errorf("settle: %w", err)
		}
		result = Applied
		return outbox.AddSQL(ctx, tx, reply)
	})
	if sqlstore.IsDuplicate(err) {
		// A concurrent delivery of the same webhook recorded it first.
		return Duplicate, nil
	}
	if err != nil {
		return "", fmt.Errorf("paymentstore: apply webhook %s/%s: %w", c.Gateway, c.EventID, err)
	}
	if result == Applied {
		s.out.Publish(ctx, reply)
	}
	return result, nil
}

func findForWebhook(ctx context.Context, tx *sql.Tx, c WebhookChange) (Payment, error) {
	if c.PaymentID != "" {
		p, err := scan(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM payments WHERE id = ? FOR UPDATE", c.PaymentID))
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return p, wrapRead(err)
		}
	}
	if c.TransactionID == "" {
		return Payment{}, sql.ErrNoRows
	}
	p, err := scan(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM payments WHERE transaction_id = ? FOR UPDATE", c.TransactionID))
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, err
	}
	return p, wrapRead(err)
}

func wrapRead(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("read payment: %w", err)
}
