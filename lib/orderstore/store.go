package orderstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Database is the name of the MySQL database this package owns.
const Database = "orders"

// Store reads and changes the orders database.
type Store struct {
	db *sql.DB
	// publishes, right after the commit, the events a change wrote to the
	// outbox; without a publisher they are left to relay-outbox.
	outbox.AfterCommit
}

// Open connects to the orders database named by c and migrates it.
func Open(ctx context.Context, c sqlstore.Config) (*Store, error) {
	db, err := sqlstore.Open(ctx, c, Migrations)
	if err != nil {
		return nil, fmt.Errorf("orderstore: open: %w", err)
	}
	return &Store{db: db}, nil
}

// OpenFrom opens the orders database a function's cfg names (ConfigFrom).
func OpenFrom(ctx context.Context, cfg map[string]string) (*Store, error) {
	c, err := ConfigFrom(cfg)
	if err != nil {
		return nil, fmt.Errorf("orderstore: open: %w", err)
	}
	return Open(ctx, c)
}

// DB is the underlying database, for the outbox publisher.
func (s *Store) DB() *sql.DB { return s.db }

// Close releases the connection pool (sqlstore.Close: never the pool the
// whole process shares on the embedded engine).
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	return sqlstore.Close(s.db)
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if s == nil {
		return errors.New("orderstore: not open")
	}
	return s.db.PingContext(ctx)
}

// Item is an ordered item, priced from the product read model.
type Item struct {
	ProductID string      `json:"productId"`
	Name      string      `json:"name"`
	Quantity  int64       `json:"quantity"`
	UnitPrice money.Money `json:"unitPrice"`
}

// Payment is the order's view of its payment.
type Payment struct {
	ID     string              `json:"id"`
	Status paymentstore.Status `json:"status"`
}

// Delivery is the order's view of its delivery.
type Delivery struct {
	ID             string               `json:"id"`
	Status         deliverystore.Status `json:"status"`
	TrackingNumber string               `json:"trackingNumber,omitempty"`
}

// HistoryEntry is one state an order entered, and when.
type HistoryEntry struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
}

// Order is an order as the API shows it.
type Order struct {
	ID              string         `json:"id"`
	CustomerID      string         `json:"customerId"`
	Status          Status         `json:"status"`
	Items           []Item         `json:"items"`
	Total           money.Money    `json:"total"`
	ShippingAddress events.Address `json:"shippingAddress"`
	Payment         *Payment       `json:"payment"`
	Delivery        *Delivery      `json:"delivery"`
	CancelReason    *string        `json:"cancelReason"`
	// Deadline is when the order is cancelled (reason expired) unless it
	// is paid by then; nil once paid or ended.
	Deadline  *time.Time     `json:"deadline"`
	History   []HistoryEntry `json:"history"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`

	// PaymentMethod is the gateway token the customer chose; not shown.
	PaymentMethod string `json:"-"`
	// CustomerEmail and CustomerName are the customer snapshot.
	CustomerEmail string `json:"-"`
	CustomerName  string `json:"-"`
	// Version counts the order's changes.
	Version int64 `json:"-"`
	// Redrives counts reconcile-orders' re-drives since its last change.
	Redrives int `json:"-"`
}

// At returns when the order entered status s (the latest time), if it did.
func (o Order) At(s Status) (time.Time, bool) {
	for i := len(o.History) - 1; i >= 0; i-- {
		if o.History[i].Status == s {
			return o.History[i].At, true
		}
	}
	return time.Time{}, false
}

// Announce builds the events a change publishes through the outbox, from
// the order as the change leaves it. It runs inside the transaction.
type Announce func(o Order) ([]event.Event, error)

const orderColumns = `id, customer_id, customer_email, customer_name, status, total_amount, currency,
	shipping_address, payment_method, payment_id, payment_status, delivery_id, delivery_status,
	tracking_number, cancel_reason, version, created_at, updated_at, deadline, redrives, items, history`

// storedItem and storedEntry are how an order's row keeps its items and
// history (the columns items and history, JSON arrays), apart from the
// API's shapes so that neither can change the other.
type storedItem struct {
	ProductID  string `json:"productId"`
	Name       string `json:"name"`
	Quantity   int64  `json:"quantity"`
	UnitAmount int64  `json:"unitAmount"`
	Currency   string `json:"currency"`
}

type storedEntry struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
}

// encodeDetails is o's items and history as their columns hold them.
func encodeDetails(o Order) (items, history string, err error) {
	si := make([]storedItem, len(o.Items))
	for i, it := range o.Items {
		si[i] = storedItem{ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity, UnitAmount: it.UnitPrice.Amount, Currency: it.UnitPrice.Currency}
	}
	sh := make([]storedEntry, len(o.History))
	for i, h := range o.History {
		sh[i] = storedEntry(h)
	}
	bi, err := json.Marshal(si)
	if err != nil {
		return "", "", fmt.Errorf("items of %s: %w", o.ID, err)
	}
	bh, err := json.Marshal(sh)
	if err != nil {
		return "", "", fmt.Errorf("history of %s: %w", o.ID, err)
	}
	return string(bi), string(bh), nil
}

// decodeDetails fills o's items and history from their columns; NULL (an
// order stored before they existed) leaves them nil for fillFromTables.
func decodeDetails(o *Order, items, history []byte) error {
	if items == nil || history == nil {
		return nil
	}
	var si []storedItem
	if err := json.Unmarshal(items, &si); err != nil {
		return fmt.Errorf("items of %s: %w", o.ID, err)
	}
	var sh []storedEntry
	if err := json.Unmarshal(history, &sh); err != nil {
		return fmt.Errorf("history of %s: %w", o.ID, err)
	}
	o.Items = make([]Item, len(si))
	for i, it := range si {
		o.Items[i] = Item{ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity, UnitPrice: money.New(it.UnitAmount, it.Currency)}
	}
	o.History = make([]HistoryEntry, len(sh))
	for i, h := range sh {
		o.History[i] = HistoryEntry{Status: h.Status, At: h.At.UTC()}
	}
	return nil
}

type rowScanner interface{ Scan(dest ...any) error }

func scanOrder(r rowScanner) (Order, error) {
	var (
		o                                  Order
		addr                               []byte
		payID, payStatus, delID, delStatus sql.NullString
		tracking, reason                   sql.NullString
		deadline                           sql.NullTime
		items, history                     []byte
	)
	err := r.Scan(&o.ID, &o.CustomerID, &o.CustomerEmail, &o.CustomerName, &o.Status, &o.Total.Amount, &o.Total.Currency,
		&addr, &o.PaymentMethod, &payID, &payStatus, &delID, &delStatus,
		&tracking, &reason, &o.Version, &o.CreatedAt, &o.UpdatedAt, &deadline, &o.Redrives, &items, &history)
	if err != nil {
		return Order{}, err
	}
	if err := json.Unmarshal(addr, &o.ShippingAddress); err != nil {
		return Order{}, fmt.Errorf("shipping address of %s: %w", o.ID, err)
	}
	if err := decodeDetails(&o, items, history); err != nil {
		return Order{}, err
	}
	if payID.Valid {
		o.Payment = &Payment{ID: payID.String, Status: paymentstore.Status(payStatus.String)}
	}
	if delID.Valid {
		o.Delivery = &Delivery{ID: delID.String, Status: deliverystore.Status(delStatus.String), TrackingNumber: tracking.String}
	}
	if reason.Valid {
		o.CancelReason = &reason.String
	}
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	if deadline.Valid && o.Status.Unpaid() {
		d := deadline.Time.UTC()
		o.Deadline = &d
	}
	return o, nil
}

// Get returns the order with id, items and history included.
func (s *Store) Get(ctx context.Context, id string) (Order, error) {
	o, err := getOrder(ctx, s.db, id, false)
	if err != nil {
		return Order{}, fmt.Errorf("orderstore: get %s: %w", id, err)
	}
	return o, nil
}

// getOrder reads one order; forUpdate locks its row in q's transaction.
func getOrder(ctx context.Context, q sqlstore.Queryer, id string, forUpdate bool) (Order, error) {
	query := "SELECT " + orderColumns + " FROM orders WHERE id = ?"
	if forUpdate {
		query += " FOR UPDATE"
	}
	o, err := scanOrder(q.QueryRowContext(ctx, query, id))
	if err != nil {
		return Order{}, sqlstore.NotFound(err, ErrNotFound)
	}
	list := []Order{o}
	if err := fillFromTables(ctx, q, list); err != nil {
		return Order{}, err
	}
	return list[0], nil
}

// ListQuery selects a page of orders.
type ListQuery struct {
	CustomerID    string // "" lists every customer's orders
	Offset, Limit int
}

// List returns one page of orders, newest first, and how many there are.
func (s *Store) List(ctx context.Context, q ListQuery) ([]Order, int, error) {
	where, args := "", []any{}
	if q.CustomerID != "" {
		where, args = " WHERE customer_id = ?", append(args, q.CustomerID)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM orders"+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("orderstore: count orders: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+orderColumns+" FROM orders"+where+
		" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("orderstore: list orders: %w", err)
	}
	list, err := collect(rows, scanOrder)
	if err != nil {
		return nil, 0, fmt.Errorf("orderstore: list orders: %w", err)
	}
	if err := fillFromTables(ctx, s.db, list); err != nil {
		return nil, 0, fmt.Errorf("orderstore: list orders: %w", err)
	}
	return list, total, nil
}

// fillFromTables loads, in two queries, the items and history of the
// orders stored before their row held them (Items nil after scanOrder).
func fillFromTables(ctx context.Context, q sqlstore.Queryer, orders []Order) error {
	index := map[string]int{}
	var args []any
	for i, o := range orders {
		if o.Items != nil {
			continue
		}
		index[o.ID] = i
		args = append(args, o.ID)
		orders[i].Items, orders[i].History = []Item{}, []HistoryEntry{}
	}
	if len(args) == 0 {
		return nil
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(args)), ",") + ")"

	rows, err := q.QueryContext(ctx, "SELECT order_id, product_id, name, quantity, unit_amount, currency FROM order_items WHERE order_id IN "+in+" ORDER BY order_id, line", args...)
	if err != nil {
		return fmt.Errorf("items: %w", err)
	}
	type line struct {
		orderID string
		item    Item
	}
	lines, err := collect(rows, func(r rowScanner) (line, error) {
		var l line
		err := r.Scan(&l.orderID, &l.item.ProductID, &l.item.Name, &l.item.Quantity, &l.item.UnitPrice.Amount, &l.item.UnitPrice.Currency)
		return l, err
	})
	if err != nil {
		return fmt.Errorf("items: %w", err)
	}
	for _, l := range lines {
		o := &orders[index[l.orderID]]
		o.Items = append(o.Items, l.item)
	}

	rows, err = q.QueryContext(ctx, "SELECT order_id, status, at FROM order_history WHERE order_id IN "+in+" ORDER BY order_id, version", args...)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	type step struct {
		orderID string
		entry   HistoryEntry
	}
	steps, err := collect(rows, func(r rowScanner) (step, error) {
		var s step
		err := r.Scan(&s.orderID, &s.entry.Status, &s.entry.At)
		s.entry.At = s.entry.At.UTC()
		return s, err
	})
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	for _, s := range steps {
		o := &orders[index[s.orderID]]
		o.History = append(o.History, s.entry)
	}
	return nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) (out []T, err error) {
	defer func() { err = errors.Join(err, rows.Close()) }()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
