package orderstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Change is a state change an event or a request asks of an order.
type Change struct {
	To Status
	// Reason is the cancel reason, for To == Cancelled.
	Reason string
	// Payment and Delivery, when set, are recorded with the change. When the
	// change is not applied they still fill in a payment or delivery the
	// order does not know yet, so nothing learnt is lost.
	Payment  *Payment
	Delivery *Delivery
	At       time.Time
	// From, when set, narrows the states the change may start from, on
	// top of CanMove (a failed payment cannot cancel a paid order).
	From []Status
}

// allows reports whether c may move an order out of status s.
func (c Change) allows(s Status) bool {
	return CanMove(s, c.To) && (len(c.From) == 0 || slices.Contains(c.From, s))
}

// Outcome says what Advance did.
type Outcome int

// The outcomes of Advance.
const (
	// Applied: the order moved to the new state.
	Applied Outcome = iota + 1
	// AlreadyThere: the order was in that state already (a repeat).
	AlreadyThere
	// Refused: the move would go backwards, or out of a final state.
	Refused
)

func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case AlreadyThere:
		return "already there"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// Advanced is the result of Advance.
type Advanced struct {
	Outcome Outcome
	// Order is the order after the call (changed or not).
	Order Order
	// Events were written to the outbox with the change; the store
	// published them after the commit if it has a publisher.
	Events []event.Event
}

// Advance moves the order to c.To if the state machine allows it (CanMove),
// writing the history entry and announce's events in the same transaction.
// The order's row is locked while deciding, so two concurrent changes apply
// one after the other and the second sees the first. ErrNotFound when there
// is no such order.
//
// With no announce there is nothing to write beside the row, and Advance
// takes no transaction: it reads the row, decides, and writes it with one
// UPDATE guarded by the version it read; when another change got there
// first (the guard matches nothing), it reads again and decides again, up
// to maxTries times. The outcome is the one the locked read would give;
// it costs two statements where the transaction costs four (START, the
// locked read, the UPDATE, COMMIT), and the saga's five forward steps
// announce nothing.
func (s *Store) Advance(ctx context.Context, orderID string, c Change, announce Announce) (Advanced, error) {
	var out Advanced
	var err error
	if announce == nil {
		out, err = advanceAlone(ctx, s.db, orderID, c)
	} else {
		err = sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
			var err error
			out, err = advance(ctx, tx, orderID, c, announce)
			return err
		})
	}
	if err != nil {
		return Advanced{}, fmt.Errorf("orderstore: %s order %s: %w", c.To, orderID, err)
	}
	s.Published(ctx, out.Events...)
	return out, nil
}

// CancelOpen cancels every order of the customer that can still be
// cancelled, in one transaction, and returns the cancelled orders with the
// events announce wrote for them.
func (s *Store) CancelOpen(ctx context.Context, customerID string, c Change, announce Announce) ([]Advanced, error) {
	c.To = Cancelled
	var out []Advanced
	err := sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `SELECT id FROM orders WHERE customer_id = ? AND status IN (?, ?, ?)
			ORDER BY created_at, id FOR UPDATE`, customerID, Pending, Reserved, Paid)
		if err != nil {
			return err
		}
		ids, err := collect(rows, func(r rowScanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			a, err := advance(ctx, tx, id, c, announce)
			if err != nil {
				return err
			}
			if a.Outcome == Applied {
				out = append(out, a)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("orderstore: cancel open orders of %s: %w", customerID, err)
	}
	for _, a := range out {
		s.Published(ctx, a.Events...)
	}
	return out, nil
}

// advanceAlone is Advance without a transaction (see Advance). Its
// statements share one connection, taken once: on a pool of one (the
// embedded engines' serialized connection) each taking waits behind every
// other caller, and a step that took it for each statement waited twice.
func advanceAlone(ctx context.Context, db *sql.DB, orderID string, c Change) (_ Advanced, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return Advanced{}, err
	}
	defer func() { err = errors.Join(err, conn.Close()) }()
	for try := 1; ; try++ {
		a, err := change(ctx, conn, orderID, c, false)
		if !(errors.Is(err, ErrConcurrentChange) || sqlstore.IsRetryable(err)) || try == maxTries {
			return a, err
		}
	}
}

// maxTries bounds how often advanceAlone decides again after another
// change got to the order first (or the server asked for a retry, as
// sqlstore.InTx retries a transaction).
const maxTries = 10

// advance applies c to the order in tx, its row read FOR UPDATE, and
// writes announce's events to the outbox when it did.
func advance(ctx context.Context, tx *sql.Tx, orderID string, c Change, announce Announce) (Advanced, error) {
	a, err := change(ctx, tx, orderID, c, true)
	if err != nil || a.Outcome != Applied {
		return a, err
	}
	if a.Events, err = addEvents(ctx, tx, a.Order, announce); err != nil {
		return Advanced{}, err
	}
	return a, nil
}

// change reads the order (FOR UPDATE with lock) and applies c to it: one
// UPDATE guarded by the status and version it read, ErrConcurrentChange
// when that matches nothing.
func change(ctx context.Context, q sqlstore.Execer, orderID string, c Change, lock bool) (Advanced, error) {
	o, err := getOrder(ctx, q, orderID, lock)
	if err != nil {
		return Advanced{}, err
	}
	if !c.allows(o.Status) {
		outcome := Refused
		if o.Status == c.To {
			outcome = AlreadyThere
		}
		o, err = fillIn(ctx, q, o, c)
		return Advanced{Outcome: outcome, Order: o}, err
	}
	at := sqlstore.Time(c.At)
	payID, payStatus := nullable(o.Payment, c.Payment)
	delID, delStatus, tracking := nullableDelivery(o.Delivery, c.Delivery)
	var reason sql.NullString
	if c.To == Cancelled {
		reason = sql.NullString{String: c.Reason, Valid: true}
	}
	// The status and version guard makes a concurrent change fail loudly
	// instead of being lost: one that slipped past the row lock, or, with no
	// lock, any change since the read.
	// A forward skip also records the states it passes over: the later
	// event proves they happened (see CanMove), and the history then always
	// reads PENDING, RESERVED, PAID, ... in order. Each entry takes a version.
	// The row keeps the whole history; an order stored before it did gets
	// its items and history into the row here.
	steps := append(passedOver(o.Status, c.To), c.To)
	prev := o
	for _, st := range steps {
		o.History = append(o.History, HistoryEntry{Status: st, At: at})
	}
	itemsJSON, historyJSON, err := encodeDetails(o)
	if err != nil {
		return Advanced{}, err
	}
	// Once paid or ended the deadline is dropped (CASE keeps it otherwise),
	// and checked_at restarts the stall clock of reconcile-orders.
	res, err := q.ExecContext(ctx, `UPDATE orders SET status = ?, cancel_reason = ?, payment_id = ?, payment_status = ?,
		delivery_id = ?, delivery_status = ?, tracking_number = ?, version = version + ?, updated_at = ?,
		deadline = CASE WHEN ? THEN deadline ELSE NULL END, checked_at = ?, redrives = 0, items = ?, history = ?
		WHERE id = ? AND status = ? AND version = ?`,
		c.To, reason, payID, payStatus, delID, delStatus, tracking, len(steps), at, c.To.Unpaid(), at, itemsJSON, historyJSON,
		prev.ID, prev.Status, prev.Version)
	if err != nil {
		return Advanced{}, fmt.Errorf("update: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Advanced{}, fmt.Errorf("update: %w", err)
	} else if n != 1 {
		return Advanced{}, ErrConcurrentChange
	}
	o.Version += int64(len(steps))
	o.Status, o.UpdatedAt, o.Redrives = c.To, at, 0
	if !c.To.Unpaid() {
		o.Deadline = nil
	}
	if reason.Valid {
		o.CancelReason = &reason.String
	}
	o.Payment, o.Delivery = toPayment(payID, payStatus), toDelivery(delID, delStatus, tracking)
	return Advanced{Outcome: Applied, Order: o}, nil
}

// passedOver lists the states of the forward path strictly between from and
// to; none for a cancellation.
func passedOver(from, to Status) []Status {
	if to == Cancelled {
		return nil
	}
	var out []Status
	for _, st := range []Status{Pending, Reserved, Paid, Shipping, InTransit, Completed} {
		if rank[st] > rank[from] && rank[st] < rank[to] {
			out = append(out, st)
		}
	}
	return out
}

// fillIn records c's payment or delivery on an order that has none yet.
func fillIn(ctx context.Context, q sqlstore.Execer, o Order, c Change) (Order, error) {
	if c.Payment != nil && o.Payment == nil {
		if _, err := q.ExecContext(ctx, `UPDATE orders SET payment_id = ?, payment_status = ? WHERE id = ? AND payment_id IS NULL`,
			c.Payment.ID, c.Payment.Status, o.ID); err != nil {
			return Order{}, fmt.Errorf("record payment: %w", err)
		}
		p := *c.Payment
		o.Payment = &p
	}
	if c.Delivery != nil && o.Delivery == nil {
		if _, err := q.ExecContext(ctx, `UPDATE orders SET delivery_id = ?, delivery_status = ?, tracking_number = ? WHERE id = ? AND delivery_id IS NULL`,
			c.Delivery.ID, c.Delivery.Status, nullString(c.Delivery.TrackingNumber), o.ID); err != nil {
			return Order{}, fmt.Errorf("record delivery: %w", err)
		}
		d := *c.Delivery
		o.Delivery = &d
	}
	return o, nil
}

func nullable(cur, next *Payment) (sql.NullString, sql.NullString) {
	p := cur
	if next != nil {
		p = next
	}
	if p == nil {
		return sql.NullString{}, sql.NullString{}
	}
	return nullString(p.ID), nullString(string(p.Status))
}

// nullableDelivery keeps a tracking number already known when the new
// delivery state does not carry one.
func nullableDelivery(cur, next *Delivery) (id, status, tracking sql.NullString) {
	d := cur
	if next != nil {
		merged := *next
		if merged.TrackingNumber == "" && cur != nil && cur.ID == next.ID {
			merged.TrackingNumber = cur.TrackingNumber
		}
		d = &merged
	}
	if d == nil {
		return
	}
	return nullString(d.ID), nullString(string(d.Status)), nullString(d.TrackingNumber)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func toPayment(id, status sql.NullString) *Payment {
	if !id.Valid {
		return nil
	}
	return &Payment{ID: id.String, Status: paymentstore.Status(status.String)}
}

func toDelivery(id, status, tracking sql.NullString) *Delivery {
	if !id.Valid {
		return nil
	}
	return &Delivery{ID: id.String, Status: deliverystore.Status(status.String), TrackingNumber: tracking.String}
}

// IsRetryable reports whether err is worth retrying as is: a concurrent
// change (the caller's event will be redelivered and see the new state).
func IsRetryable(err error) bool { return errors.Is(err, ErrConcurrentChange) }
