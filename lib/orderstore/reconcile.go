package orderstore

import (
	"context"
	"fmt"
	"time"

	"github.com/knshop/knshop/lib/settings"
)

// The deadlines of an order, and their defaults (docs/operations.md).
const (
	// DefaultPaymentDeadline: an order not PAID by createdAt + this is
	// cancelled with reason expired (ORDER_PAYMENT_DEADLINE).
	DefaultPaymentDeadline = 15 * time.Minute
	// DefaultStallAfter: an order that has not moved for this long is
	// driven again (ORDER_STALL_AFTER).
	DefaultStallAfter = time.Minute
)

// StuckAfter is the number of re-drives without a move after which an
// order is stuck: reported in the log and listed for an admin.
const StuckAfter = 3

// Deadlines are the two durations of ORDER_PAYMENT_DEADLINE and
// ORDER_STALL_AFTER.
type Deadlines struct {
	Payment    time.Duration
	StallAfter time.Duration
}

// DeadlinesFrom reads ORDER_PAYMENT_DEADLINE and ORDER_STALL_AFTER (Go
// durations) from cfg, with their defaults.
func DeadlinesFrom(cfg map[string]string) (Deadlines, error) {
	s := settings.Of(cfg)
	d := Deadlines{Payment: s.Duration("ORDER_PAYMENT_DEADLINE", DefaultPaymentDeadline),
		StallAfter: s.Duration("ORDER_STALL_AFTER", DefaultStallAfter)}
	return d, s.Err("orderstore")
}

// Expired lists up to limit unpaid orders whose deadline is before now,
// oldest deadline first (index orders_by_deadline).
func (s *Store) Expired(ctx context.Context, now time.Time, limit int) ([]Order, error) {
	out, err := s.byStatus(ctx, UnpaidStates, "deadline < ?", now.UTC(), "deadline", limit)
	if err != nil {
		return nil, fmt.Errorf("orderstore: expired orders: %w", err)
	}
	return out, nil
}

// Stalled lists up to limit in-flight orders that have neither changed nor
// been driven again since before, oldest first per state (index
// orders_by_checked).
func (s *Store) Stalled(ctx context.Context, before time.Time, limit int) ([]Order, error) {
	out, err := s.byStatus(ctx, InFlight, "checked_at < ?", before.UTC(), "checked_at", limit)
	if err != nil {
		return nil, fmt.Errorf("orderstore: stalled orders: %w", err)
	}
	return out, nil
}

// byStatus lists up to limit orders in the statuses that also meet cond
// (trusted SQL with one placeholder, for arg), ordered by the trusted column
// order within each status: one index range per status.
func (s *Store) byStatus(ctx context.Context, statuses []Status, cond string, arg any, order string, limit int) ([]Order, error) {
	var out []Order
	for _, st := range statuses {
		if len(out) >= limit {
			break
		}
		got, err := s.ordersWhere(ctx, "status = ? AND "+cond+" ORDER BY "+order+" LIMIT ?", st, arg, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// MarkRedriven records that the order, as read (o), was driven again at at:
// its stall clock restarts and its re-drive count grows. It answers the new
// count, or 0 when the order moved or was driven again meanwhile (nothing
// is recorded).
func (s *Store) MarkRedriven(ctx context.Context, o Order, at time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE orders SET checked_at = ?, redrives = redrives + 1
		WHERE id = ? AND status = ? AND version = ? AND redrives = ?`, at.UTC(), o.ID, o.Status, o.Version, o.Redrives)
	if err != nil {
		return 0, fmt.Errorf("orderstore: mark %s driven again: %w", o.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return 0, err
	}
	return o.Redrives + 1, nil
}

// Stuck lists up to limit orders driven again at least times without
// moving, for an operator (index orders_by_checked serves the status).
func (s *Store) Stuck(ctx context.Context, times, limit int) ([]Order, error) {
	out, err := s.byStatus(ctx, InFlight, "redrives >= ?", times, "checked_at", limit)
	if err != nil {
		return nil, fmt.Errorf("orderstore: stuck orders: %w", err)
	}
	return out, nil
}

// ordersWhere reads the orders matching the condition, with their items
// and history.
func (s *Store) ordersWhere(ctx context.Context, cond string, args ...any) ([]Order, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+orderColumns+" FROM orders WHERE "+cond, args...)
	if err != nil {
		return nil, err
	}
	list, err := collect(rows, scanOrder)
	if err != nil {
		return nil, err
	}
	return list, fillFromTables(ctx, s.db, list)
}
