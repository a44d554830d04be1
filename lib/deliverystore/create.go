package deliverystore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/sqlstore"
)

// Creating an order's delivery, once, unless the order was cancelled.

// Create stores d, in status STARTED, with reply, the event that answers the
// step that created it, unless the order already has a delivery. Either way
// it returns the reply stored with the order's delivery, so a redelivered
// request gets the very same event; created tells whether this call made it.
// When the order was cancelled (CancelOrder) it creates nothing and returns
// ErrOrderCancelled, whether or not a delivery exists.
//
// The tombstone and the delivery are read with locking reads, in the same
// order CancelOrder takes them, so on MySQL a concurrent CancelOrder either
// is seen here or sees the delivery made here.
func (s *Store) Create(ctx context.Context, d Delivery, reply event.Event) (stored event.Event, created bool, err error) {
	raw, err := json.Marshal(reply)
	if err != nil {
		return event.Event{}, false, fmt.Errorf("deliverystore: create: encode reply: %w", err)
	}
	addr, err := json.Marshal(d.Address)
	if err != nil {
		return event.Event{}, false, fmt.Errorf("deliverystore: create: encode address: %w", err)
	}
	now := sqlstore.Time(d.CreatedAt)
	history, err := encodeHistory([]HistoryEntry{{Status: Started, At: now}})
	if err != nil {
		return event.Event{}, false, fmt.Errorf("deliverystore: create: %w", err)
	}
	var existing []byte
	err = sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		existing = nil
		var one int
		switch err := tx.QueryRowContext(ctx, "SELECT 1 FROM cancelled_orders WHERE order_id = ? FOR UPDATE", d.OrderID).Scan(&one); {
		case err == nil:
			return ErrOrderCancelled
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read tombstone: %w", err)
		}
		err := tx.QueryRowContext(ctx, "SELECT reply_event FROM deliveries WHERE order_id = ? FOR UPDATE", d.OrderID).Scan(&existing)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("find order's delivery: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries
			(id, order_id, customer_id, status, partner_id, partner_name, courier_id, address, reply_event, created_at, updated_at, history)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.OrderID, d.CustomerID, string(Started), d.Partner.ID, d.Partner.Name,
			nullable(d.CourierID), string(addr), raw, now, now, history); err != nil {
			return fmt.Errorf("insert delivery: %w", err)
		}
		return nil
	})
	if sqlstore.IsDuplicate(err) {
		// A concurrent delivery of the same event created it first.
		existing, err = s.reply(ctx, d.OrderID)
	}
	if err != nil {
		return event.Event{}, false, fmt.Errorf("deliverystore: create for order %s: %w", d.OrderID, err)
	}
	if existing == nil {
		return reply, true, nil
	}
	if err := json.Unmarshal(existing, &stored); err != nil {
		return event.Event{}, false, fmt.Errorf("deliverystore: create: decode stored reply: %w", err)
	}
	return stored, false, nil
}

func (s *Store) reply(ctx context.Context, orderID string) ([]byte, error) {
	var raw []byte
	if err := s.db.QueryRowContext(ctx, "SELECT reply_event FROM deliveries WHERE order_id = ?", orderID).Scan(&raw); err != nil {
		return nil, fmt.Errorf("read stored reply: %w", err)
	}
	return raw, nil
}
