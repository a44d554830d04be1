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
	"errors"
	"fmt"
	"time"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Database is the MySQL database the deliveries area owns.
const Database = "deliveries"

// ConfigFrom reads where the deliveries database lives from a function's
// cfg: MYSQL_DSN, KNSHOP_SERIALIZE_DB and, optionally, DELIVERIES_DATABASE.
func ConfigFrom(cfg map[string]string) (sqlstore.Config, error) {
	return sqlstore.ConfigFrom(cfg, Database)
}

// Migrations create the deliveries database. Each step is one
// sqlstore.Open can run again after a crash; append new steps, never edit
// old ones.
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
	// Each delivery's history inside its row (a JSON array, at most one
	// entry a state, so four): a read is one statement and a step one
	// UPDATE. Deliveries stored before have it NULL and their entries in
	// delivery_history, read from there until their next step writes the
	// whole history into the row.
	`ALTER TABLE deliveries ADD COLUMN history JSON NULL`,
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
	// publishes a step's event right after its commit; without a
	// publisher it is left to relay-outbox.
	outbox.AfterCommit
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

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
