// Package deliverystore keeps the deliveries of the MySQL database
// `deliveries`: one delivery per order, its status history, the orders
// cancelled on the delivery side (tombstones), and the outbox of the events
// its steps cause. start-delivery creates deliveries, cancel-delivery
// cancels them, and the deliveries HTTP function reads and advances them;
// all open the same database with Migrations.
package deliverystore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Database is the MySQL database the deliveries area owns.
const Database = "deliveries"

// Migrations create the deliveries database. Each step is idempotent DDL;
// append new steps, never edit old ones.
var Migrations = []string{
	`CREATE TABLE IF NOT EXISTS deliveries (
		id VARCHAR(64) NOT NULL PRIMARY KEY,
		order_id VARCHAR(64) NOT NULL,
		customer_id VARCHAR(64) NOT NULL,
		status VARCHAR(16) NOT NULL,
		partner_id VARCHAR(64) NOT NULL,
		partner_name VARCHAR(200) NOT NULL,
		courier_id VARCHAR(64) NULL,
		tracking_number VARCHAR(100) NULL,
		address JSON NOT NULL,
		reply_event LONGBLOB NOT NULL,
		created_at DATETIME(6) NOT NULL,
		updated_at DATETIME(6) NOT NULL,
		UNIQUE KEY deliveries_order (order_id)
	)`,
	`CREATE TABLE IF NOT EXISTS delivery_history (
		delivery_id VARCHAR(64) NOT NULL,
		step INT NOT NULL,
		status VARCHAR(16) NOT NULL,
		at DATETIME(6) NOT NULL,
		PRIMARY KEY (delivery_id, step)
	)`,
	outbox.MySQLTable,
	// One row per order cancelled before its delivery was done: a delivery
	// is never created for an order that has one.
	`CREATE TABLE IF NOT EXISTS cancelled_orders (
		order_id VARCHAR(64) NOT NULL PRIMARY KEY,
		reason VARCHAR(32) NOT NULL,
		cancelled_at DATETIME(6) NOT NULL
	)`,
}

// Status is where a delivery stands.
type Status string

// The delivery states, in the only order a delivery passes them; a
// STARTED delivery may instead end CANCELLED when its order is cancelled.
const (
	Started   Status = "STARTED"
	Couriered Status = "COURIERED"
	Delivered Status = "DELIVERED"
	Cancelled Status = "CANCELLED"
)

// Statuses lists every delivery status, for API schemas and validation.
var Statuses = []Status{Started, Couriered, Delivered, Cancelled}

// Next is the state that follows s, or "" when s is the last one.
func (s Status) Next() Status {
	switch s {
	case Started:
		return Couriered
	case Couriered:
		return Delivered
	}
	return ""
}

// Errors of the deliveries domain.
var (
	// ErrNotFound: no such delivery.
	ErrNotFound = errors.New("deliverystore: delivery not found")
	// ErrOutOfOrder: the requested step does not follow the current status.
	ErrOutOfOrder = errors.New("deliverystore: step out of order")
	// ErrCancelled: the delivery was cancelled with its order and takes no
	// more steps.
	ErrCancelled = errors.New("deliverystore: delivery cancelled")
	// ErrOrderCancelled: the order was cancelled before its delivery was
	// created, so none is.
	ErrOrderCancelled = errors.New("deliverystore: order cancelled")
)

// HistoryEntry is one status a delivery reached and when.
type HistoryEntry struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
}

// Delivery is one order's delivery.
type Delivery struct {
	ID             string
	OrderID        string
	CustomerID     string
	Status         Status
	Partner        events.Partner
	CourierID      string // the assigned courier's user id; "" for none
	TrackingNumber string
	Address        events.Address
	History        []HistoryEntry
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Store reads and writes deliveries.
type Store struct {
	db *sql.DB
}

// New returns the store of db, a database migrated with Migrations.
func New(db *sql.DB) *Store { return &Store{db: db} }

// Open opens the deliveries database c names and applies Migrations: what
// every deliveries function does at start.
func Open(ctx context.Context, c sqlstore.Config) (*Store, error) {
	db, err := sqlstore.Open(ctx, c, Migrations)
	if err != nil {
		return nil, fmt.Errorf("deliverystore: open: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database Open opened, unless it is the process's shared
// serialized pool, which other functions of the process still use. A nil
// Store (a function never started) has nothing to close.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	return sqlstore.Close(s.db)
}

// DB is the underlying database, for the outbox that shares its
// transactions.
func (s *Store) DB() *sql.DB { return s.db }

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
	now := d.CreatedAt.UTC()
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
			(id, order_id, customer_id, status, partner_id, partner_name, courier_id, address, reply_event, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.OrderID, d.CustomerID, string(Started), d.Partner.ID, d.Partner.Name,
			nullable(d.CourierID), string(addr), raw, now, now); err != nil {
			return fmt.Errorf("insert delivery: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO delivery_history (delivery_id, step, status, at) VALUES (?, 1, ?, ?)",
			d.ID, string(Started), now); err != nil {
			return fmt.Errorf("insert history: %w", err)
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

const columns = `id, order_id, customer_id, status, partner_id, partner_name, courier_id, tracking_number, address, created_at, updated_at`

func (s *Store) one(ctx context.Context, column, value string) (Delivery, error) {
	var d Delivery
	err := sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		var err error
		d, err = get(ctx, tx, "SELECT "+columns+" FROM deliveries WHERE "+column+" = ?", value)
		return err
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("deliverystore: get by %s: %w", column, err)
	}
	return d, nil
}

// get reads one delivery and its history in tx.
func get(ctx context.Context, tx *sql.Tx, query string, args ...any) (Delivery, error) {
	var (
		d                 Delivery
		status            string
		courier, tracking sql.NullString
		addr              []byte
	)
	err := tx.QueryRowContext(ctx, query, args...).Scan(&d.ID, &d.OrderID, &d.CustomerID, &status,
		&d.Partner.ID, &d.Partner.Name, &courier, &tracking, &addr, &d.CreatedAt, &d.UpdatedAt)
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
	rows, err := tx.QueryContext(ctx, "SELECT status, at FROM delivery_history WHERE delivery_id = ? ORDER BY step", d.ID)
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

// Step is a requested status change.
type Step struct {
	To             Status
	TrackingNumber string // kept when the step sets one and the delivery has none
	At             time.Time
}

// EventFor builds the event a step causes, from the delivery as it is after
// the step.
type EventFor func(d Delivery) (event.Event, error)

// Advance moves delivery id to step.To when that is the next status, stores
// the event build makes in the outbox in the same transaction, and returns
// the delivery and that event. When the delivery already is in step.To it
// changes nothing and returns no event (a repeated step); any other step is
// ErrOutOfOrder, and any step of a cancelled delivery is ErrCancelled.
// allow sees the delivery first and may refuse with an error
// (such as ErrNotFound for a caller who may not see it).
func (s *Store) Advance(ctx context.Context, id string, step Step, allow func(Delivery) error, build EventFor) (Delivery, []event.Event, error) {
	var (
		d   Delivery
		evs []event.Event
	)
	err := sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		var err error
		evs = nil
		d, err = get(ctx, tx, "SELECT "+columns+" FROM deliveries WHERE id = ? FOR UPDATE", id)
		if err != nil {
			return err
		}
		if err := allow(d); err != nil {
			return err
		}
		if d.Status == Cancelled {
			return fmt.Errorf("%w: no %s step", ErrCancelled, step.To)
		}
		if d.Status == step.To {
			return nil
		}
		if d.Status.Next() != step.To {
			return fmt.Errorf("%w: %s after %s", ErrOutOfOrder, step.To, d.Status)
		}
		at := step.At.UTC()
		if d.TrackingNumber == "" {
			d.TrackingNumber = step.TrackingNumber
		}
		res, err := tx.ExecContext(ctx,
			"UPDATE deliveries SET status = ?, tracking_number = ?, updated_at = ? WHERE id = ? AND status = ?",
			string(step.To), nullable(d.TrackingNumber), at, d.ID, string(d.Status))
		if err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("update status: %w", err)
		} else if n != 1 {
			return fmt.Errorf("%w: status changed meanwhile", ErrOutOfOrder)
		}
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO delivery_history (delivery_id, step, status, at) VALUES (?, ?, ?, ?)",
			d.ID, len(d.History)+1, string(step.To), at); err != nil {
			return fmt.Errorf("insert history: %w", err)
		}
		d.Status, d.UpdatedAt = step.To, at
		d.History = append(d.History, HistoryEntry{Status: step.To, At: at})
		e, err := build(d)
		if err != nil {
			return fmt.Errorf("build event: %w", err)
		}
		evs = []event.Event{e}
		return outbox.AddSQL(ctx, tx, e)
	})
	if err != nil {
		return Delivery{}, nil, fmt.Errorf("deliverystore: advance %s: %w", id, err)
	}
	return d, evs, nil
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
