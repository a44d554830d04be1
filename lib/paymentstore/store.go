// Package paymentstore keeps payments in the MySQL database "payments",
// shared by the payments, charge-payment and refund-payment functions: the
// payment rows with the reply event each saga step answered with, the
// tombstones of orders cancelled before they were charged, the webhook
// events already applied, and the outbox.
package paymentstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Database is the MySQL database the payment functions own.
const Database = "payments"

// Errors of the store.
var (
	// ErrNotFound: no such payment.
	ErrNotFound = errors.New("paymentstore: payment not found")
	// ErrOrderCancelled: the order was cancelled before it was charged;
	// it must not be charged now.
	ErrOrderCancelled = errors.New("paymentstore: order already cancelled")
	// ErrStateChanged: the payment is no longer in the state the change
	// starts from (someone else settled it first).
	ErrStateChanged = errors.New("paymentstore: payment state changed meanwhile")
)

// Status is where a payment is.
type Status string

// Payment states: PENDING → SUCCEEDED → REFUNDED, or PENDING → FAILED.
const (
	Pending   Status = "PENDING"
	Succeeded Status = "SUCCEEDED"
	Failed    Status = "FAILED"
	Refunded  Status = "REFUNDED"
)

// Statuses are every payment state.
var Statuses = []Status{Pending, Succeeded, Failed, Refunded}

// Payment is one order's payment.
type Payment struct {
	ID         string
	OrderID    string
	CustomerID string
	Amount     money.Money
	// Method is what may be shown of the payment method (payment.Describe),
	// never the token.
	Method          string
	Gateway         string
	Status          Status
	TransactionID   string
	FailureCode     string
	FailureReason   string
	RefundID        string
	ShippingAddress events.Address
	// ChargeReply is the PAYMENT_SUCCESS or PAYMENT_FAILURE the charge
	// answered with; RefundReply the PAYMENT_REFUNDED. A redelivery answers
	// with them again, same event id.
	ChargeReply *event.Event
	RefundReply *event.Event
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Migrations create the schema; each step is idempotent.
var Migrations = []string{
	`CREATE TABLE IF NOT EXISTS payments (
		id VARCHAR(64) NOT NULL PRIMARY KEY,
		order_id VARCHAR(64) NOT NULL,
		customer_id VARCHAR(64) NOT NULL,
		amount BIGINT NOT NULL,
		currency CHAR(3) NOT NULL,
		method VARCHAR(80) NOT NULL,
		gateway VARCHAR(32) NOT NULL,
		status VARCHAR(16) NOT NULL,
		transaction_id VARCHAR(191) NOT NULL DEFAULT '',
		failure_code VARCHAR(64) NOT NULL DEFAULT '',
		failure_reason VARCHAR(500) NOT NULL DEFAULT '',
		refund_id VARCHAR(191) NOT NULL DEFAULT '',
		shipping_address LONGBLOB NOT NULL,
		charge_reply LONGBLOB NULL,
		refund_reply LONGBLOB NULL,
		lease_until DATETIME(6) NULL,
		created_at DATETIME(6) NOT NULL,
		updated_at DATETIME(6) NOT NULL,
		UNIQUE KEY payments_order (order_id),
		KEY payments_transaction (transaction_id),
		KEY payments_customer (customer_id, created_at)
	)`,
	`CREATE TABLE IF NOT EXISTS cancelled_orders (
		order_id VARCHAR(64) NOT NULL PRIMARY KEY,
		cancelled_at DATETIME(6) NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS webhook_events (
		gateway VARCHAR(32) NOT NULL,
		id VARCHAR(191) NOT NULL,
		received_at DATETIME(6) NOT NULL,
		PRIMARY KEY (gateway, id)
	)`,
	outbox.MySQLTable,
	// The refunds of returns (refund-return): partial refunds of a
	// succeeded payment, one per return, never more in sum than was paid.
	`CREATE TABLE IF NOT EXISTS return_refunds (
		return_id VARCHAR(64) NOT NULL PRIMARY KEY,
		payment_id VARCHAR(64) NOT NULL,
		order_id VARCHAR(64) NOT NULL,
		amount BIGINT NOT NULL,
		currency CHAR(3) NOT NULL,
		status VARCHAR(16) NOT NULL,
		refund_id VARCHAR(191) NOT NULL DEFAULT '',
		reply LONGBLOB NULL,
		lease_until DATETIME(6) NULL,
		created_at DATETIME(6) NOT NULL,
		updated_at DATETIME(6) NOT NULL,
		KEY return_refunds_payment (payment_id)
	)`,
}

// Store reads and changes payments.
type Store struct {
	db  *sql.DB
	out *outbox.SQL
}

// Open opens (and migrates) the payments database; events written with a
// change go to s after commit.
func Open(ctx context.Context, c sqlstore.Config, s sink.Sender, log *slog.Logger) (*Store, error) {
	db, err := sqlstore.Open(ctx, c, Migrations)
	if err != nil {
		return nil, fmt.Errorf("paymentstore: open: %w", err)
	}
	return &Store{db: db, out: outbox.NewSQL(db, s, log)}, nil
}

// Outbox is the store's outbox, for relaying what publishing missed.
func (s *Store) Outbox() *outbox.SQL { return s.out }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("paymentstore: ping: %w", err)
	}
	return nil
}

// Ready reports whether the database answers, for a function's readiness
// check; a nil Store (a function never started) is not ready.
func (s *Store) Ready(ctx context.Context) (bool, error) {
	if s == nil {
		return false, nil
	}
	if err := s.Ping(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// Close closes the database, unless it is the process's shared serialized
// pool, which other functions of the process still use. A nil Store (a
// function never started) has nothing to close.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	return sqlstore.Close(s.db)
}

func now() time.Time { return sqlstore.Time(time.Now()) }

const columns = `id, order_id, customer_id, amount, currency, method, gateway, status,
	transaction_id, failure_code, failure_reason, refund_id, shipping_address,
	charge_reply, refund_reply, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scan(r scanner) (Payment, error) {
	var p Payment
	var addr, charge, refund []byte
	err := r.Scan(&p.ID, &p.OrderID, &p.CustomerID, &p.Amount.Amount, &p.Amount.Currency, &p.Method, &p.Gateway,
		&p.Status, &p.TransactionID, &p.FailureCode, &p.FailureReason, &p.RefundID, &addr,
		&charge, &refund, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return Payment{}, err
	}
	if err := json.Unmarshal(addr, &p.ShippingAddress); err != nil {
		return Payment{}, fmt.Errorf("read shipping address of %s: %w", p.ID, err)
	}
	if p.ChargeReply, err = decodeEvent(charge); err != nil {
		return Payment{}, fmt.Errorf("read charge reply of %s: %w", p.ID, err)
	}
	if p.RefundReply, err = decodeEvent(refund); err != nil {
		return Payment{}, fmt.Errorf("read refund reply of %s: %w", p.ID, err)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, nil
}

func encodeEvent(e *event.Event) ([]byte, error) {
	if e == nil {
		return nil, nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID(), err)
	}
	return b, nil
}

func decodeEvent(b []byte) (*event.Event, error) {
	if len(b) == 0 {
		return nil, nil
	}
	e := event.New()
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// Get returns the payment id.
func (s *Store) Get(ctx context.Context, id string) (Payment, error) {
	p, err := scan(s.db.QueryRowContext(ctx, "SELECT "+columns+" FROM payments WHERE id = ?", id))
	if err != nil {
		return Payment{}, fmt.Errorf("paymentstore: get %s: %w", id, sqlstore.NotFound(err, ErrNotFound))
	}
	return p, nil
}

// Filter narrows List; empty fields match everything.
type Filter struct {
	CustomerID string
	OrderID    string
}

// List returns one page of payments matching f, newest first, and how many
// match in all.
func (s *Store) List(ctx context.Context, f Filter, limit, offset int) (_ []Payment, total int, err error) {
	where, args := "WHERE 1=1", []any{}
	if f.CustomerID != "" {
		where += " AND customer_id = ?"
		args = append(args, f.CustomerID)
	}
	if f.OrderID != "" {
		where += " AND order_id = ?"
		args = append(args, f.OrderID)
	}
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM payments "+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("paymentstore: count: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+columns+" FROM payments "+where+
		" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("paymentstore: list: %w", err)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("paymentstore: list: %w", cerr)
		}
	}()
	var out []Payment
	for rows.Next() {
		p, err := scan(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("paymentstore: list: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("paymentstore: list: %w", err)
	}
	return out, total, nil
}
