package deliverystore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/knshop/knshop/lib/sqlstore"
)

// Reading deliveries: one by id or order, or a filtered page.

// Get returns the delivery id.
func (s *Store) Get(ctx context.Context, id string) (Delivery, error) {
	return s.one(ctx, "id", id)
}

// ByOrder returns the delivery of the order orderID.
func (s *Store) ByOrder(ctx context.Context, orderID string) (Delivery, error) {
	return s.one(ctx, "order_id", orderID)
}

// Filter narrows List; empty fields do not filter.
type Filter struct {
	OrderID    string
	CustomerID string
	CourierID  string
}

// List returns up to limit deliveries matching f after offset, newest
// first, with their history, and how many match in all.
func (s *Store) List(ctx context.Context, f Filter, offset, limit int) (ds []Delivery, total int, err error) {
	where, args := "1 = 1", []any{}
	for _, c := range []struct{ column, value string }{
		{"order_id", f.OrderID}, {"customer_id", f.CustomerID}, {"courier_id", f.CourierID},
	} {
		if c.value != "" {
			where += " AND " + c.column + " = ?"
			args = append(args, c.value)
		}
	}
	err = sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		ds = nil
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM deliveries WHERE "+where, args...).Scan(&total); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		ids, err := listIDs(ctx, tx, "SELECT id FROM deliveries WHERE "+where+" ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
			append(args, limit, offset)...)
		if err != nil {
			return err
		}
		for _, id := range ids {
			d, err := get(ctx, tx, "SELECT "+columns+" FROM deliveries WHERE id = ?", id)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("deliverystore: list: %w", err)
	}
	return ds, total, nil
}

// listIDs reads the ids first and closes the rows, so the same connection
// can read each delivery next.
func listIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) (ids []string, err error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list ids: %w", err)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("list ids: %w", cerr)
		}
	}()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list ids: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

const columns = `id, order_id, customer_id, status, partner_id, partner_name, courier_id, tracking_number, address, created_at, updated_at, history`

// one reads a delivery outside a transaction: its row is one statement, and
// for a delivery stored before the row held its history, the old table's
// entries, which nothing changes any more, agree with whatever the row said.
func (s *Store) one(ctx context.Context, column, value string) (Delivery, error) {
	d, err := get(ctx, s.db, "SELECT "+columns+" FROM deliveries WHERE "+column+" = ?", value)
	if err != nil {
		return Delivery{}, fmt.Errorf("deliverystore: get by %s: %w", column, err)
	}
	return d, nil
}

// get reads one delivery and its history through q.
func get(ctx context.Context, q sqlstore.Queryer, query string, args ...any) (Delivery, error) {
	var (
		d                 Delivery
		status            string
		courier, tracking sql.NullString
		addr, history     []byte
	)
	err := q.QueryRowContext(ctx, query, args...).Scan(&d.ID, &d.OrderID, &d.CustomerID, &status,
		&d.Partner.ID, &d.Partner.Name, &courier, &tracking, &addr, &d.CreatedAt, &d.UpdatedAt, &history)
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, ErrNotFound
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("read delivery: %w", err)
	}
	d.Status, d.CourierID, d.TrackingNumber = Status(status), courier.String, tracking.String
	if err := json.Unmarshal(addr, &d.Address); err != nil {
		return Delivery{}, fmt.Errorf("decode address: %w", err)
	}
	if history != nil {
		if d.History, err = decodeHistory(history); err != nil {
			return Delivery{}, err
		}
		return d, nil
	}
	return historyFromTable(ctx, q, d)
}

// historyFromTable reads the history of a delivery stored before its row
// held it.
func historyFromTable(ctx context.Context, q sqlstore.Queryer, d Delivery) (Delivery, error) {
	rows, err := q.QueryContext(ctx, "SELECT status, at FROM delivery_history WHERE delivery_id = ? ORDER BY step", d.ID)
	if err != nil {
		return Delivery{}, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h HistoryEntry
		var st string
		if err := rows.Scan(&st, &h.At); err != nil {
			return Delivery{}, fmt.Errorf("read history: %w", err)
		}
		h.Status = Status(st)
		d.History = append(d.History, h)
	}
	if err := rows.Err(); err != nil {
		return Delivery{}, fmt.Errorf("read history: %w", err)
	}
	return d, nil
}
