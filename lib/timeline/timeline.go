// Package timeline is the life of each order in one place: every event
// about it that passed the Broker, every delivery of those events to a
// function (with its answer, duration and attempt), every dead letter, and
// every action of reconcile-orders. The function `timeline` writes it (it
// is subscribed to every event, and the runtimes report their deliveries
// to it directly); the admin function reads it for
// GET /api/admin/orders/{id}/timeline.
//
// The timeline is for people looking at an order, not a source of truth:
// reports are sent best effort (a full buffer or a lost report drops an
// entry, counted in knshop_timeline_dropped_total), and entries older
// than the retention are purged.
package timeline

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/opsdb"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Kind is what an entry records.
type Kind string

// The kinds of entries.
const (
	KindEvent      Kind = "event"       // an event about the order passed the Broker
	KindDelivery   Kind = "delivery"    // a function was given one of those events
	KindDeadLetter Kind = "dead-letter" // an event exhausted its retries
	KindReconcile  Kind = "reconcile"   // reconcile-orders acted on the order
)

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindEvent, KindDelivery, KindDeadLetter, KindReconcile:
		return true
	}
	return false
}

// Entry is one line of an order's timeline.
type Entry struct {
	ID      string         `json:"id"`      // unique; a repeated report of it is recorded once
	OrderID string         `json:"orderId"` // the order (the events' partition key)
	At      time.Time      `json:"at"`
	Kind    Kind           `json:"kind"`
	Type    string         `json:"type"`    // the event type, or the reconcile action
	EventID string         `json:"eventId"` // the event's id; empty for a reconcile action
	Source  string         `json:"source"`  // the event's source, or the reporting function
	Detail  map[string]any `json:"detail"`  // by kind: docs/operations.md
}

// Limits of what is recorded.
const (
	maxKey    = 255
	maxSource = 1000
)

// EventEntry is the entry of an event that passed the Broker: about the
// order of its partition key, once per event (source and id).
func EventEntry(e event.Event, at time.Time) (Entry, bool) {
	key := OrderKey(e)
	if key == "" {
		return Entry{}, false
	}
	sum := sha256.Sum256([]byte(e.Source() + "\x00" + e.ID()))
	detail := map[string]any{}
	if s := e.Subject(); s != "" {
		detail["subject"] = s
	}
	t := e.Time()
	if t.IsZero() {
		t = at
	}
	return Entry{
		ID: "ev-" + hex.EncodeToString(sum[:16]), OrderID: key, At: t.UTC(), Kind: KindEvent,
		Type: e.Type(), EventID: e.ID(), Source: e.Source(), Detail: detail,
	}, true
}

// OrderKey is the order an event is about: its partition key (the order
// id for every event of the saga), else its subject.
func OrderKey(e event.Event) string {
	if k, ok := e.Extensions()[events.ExtPartitionKey].(string); ok && k != "" {
		return k
	}
	return e.Subject()
}

// Store is the timeline in the operations database.
type Store struct{ db *sql.DB }

// ErrNotFound: the timeline has no entry for the order.
var ErrNotFound = errors.New("timeline: no entry for the order")

// Open opens the operations database c names (lib/opsdb).
func Open(ctx context.Context, c sqlstore.Config) (*Store, error) {
	db, err := sqlstore.Open(ctx, c, opsdb.Migrations)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Record writes entries; one already recorded (same id) is left as it is.
func (s *Store) Record(ctx context.Context, entries ...Entry) error {
	for _, e := range entries {
		if !e.Kind.Valid() || e.ID == "" || e.OrderID == "" || len(e.OrderID) > maxKey || len(e.ID) > 64 {
			return fmt.Errorf("timeline: invalid entry %q (%s) of %q", e.ID, e.Kind, e.OrderID)
		}
		detail, err := json.Marshal(e.Detail)
		if err != nil {
			return fmt.Errorf("timeline: entry %s: %w", e.ID, err)
		}
		if len(e.Source) > maxSource {
			e.Source = e.Source[:maxSource]
		}
		if _, err := s.db.ExecContext(ctx,
			`INSERT INTO timeline (id, order_key, at, kind, type, event_id, source, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			 ON DUPLICATE KEY UPDATE id = id`,
			e.ID, e.OrderID, e.At.UTC(), string(e.Kind), e.Type, e.EventID, e.Source, string(detail)); err != nil {
			return fmt.Errorf("timeline: record %s: %w", e.ID, err)
		}
	}
	return nil
}

// MaxEntries bounds one order's answer.
const MaxEntries = 1000

// ForOrder returns the order's entries oldest first (at most MaxEntries),
// each delivery numbered with its attempt: the how-manieth delivery of the
// same event to the same function.
func (s *Store) ForOrder(ctx context.Context, orderID string) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, order_key, at, kind, type, event_id, source, detail FROM timeline
		 WHERE order_key = ? ORDER BY at, seq LIMIT ?`, orderID, MaxEntries)
	if err != nil {
		return nil, fmt.Errorf("timeline: read %s: %w", orderID, err)
	}
	defer rows.Close()
	var out []Entry
	attempts := map[string]int{}
	for rows.Next() {
		var e Entry
		var kind, detail string
		if err := rows.Scan(&e.ID, &e.OrderID, &e.At, &kind, &e.Type, &e.EventID, &e.Source, &detail); err != nil {
			return nil, fmt.Errorf("timeline: read %s: %w", orderID, err)
		}
		e.Kind, e.At = Kind(kind), e.At.UTC()
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			return nil, fmt.Errorf("timeline: read %s: entry %s: %w", orderID, e.ID, err)
		}
		if e.Kind == KindDelivery {
			key := e.EventID + "\x00" + fmt.Sprint(e.Detail["function"])
			attempts[key]++
			e.Detail["attempt"] = attempts[key]
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("timeline: read %s: %w", orderID, err)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// Purge deletes up to limit entries older than before, oldest first, and
// returns how many: bounded work for one tick.
func (s *Store) Purge(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM timeline WHERE at < ? ORDER BY at LIMIT ?`, before.UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("timeline: purge: %w", err)
	}
	return res.RowsAffected()
}
