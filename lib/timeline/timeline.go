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
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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
	maxKey  = 255  // an order id
	maxText = 1000 // source, type and event id are cut to this
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

// Store is the timeline: one row per entry in the operations MySQL
// database's timeline_entries table (lib/opsdb), unique by order and entry
// id, so an entry recorded twice (a redelivered event, a repeated report)
// is kept once. A write of any number of entries, for any number of
// orders, is one INSERT; reading an order is one lookup through its
// unique key; the purge goes through the index on when entries were
// written. Nothing is shared between orders.
type Store struct {
	db *sql.DB
}

// ErrNotFound: the timeline has no entry for the order.
var ErrNotFound = errors.New("timeline: no entry for the order")

// New returns the timeline of db, a database migrated with
// opsdb.Migrations.
func New(db *sql.DB) *Store { return &Store{db: db} }

// Open opens the operations database c names and applies its migrations
// (lib/opsdb).
func Open(ctx context.Context, c sqlstore.Config) (*Store, error) {
	db, err := sqlstore.Open(ctx, c, opsdb.Migrations)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	return New(db), nil
}

// Close releases the database (sqlstore.Close). A nil Store (a function
// never started) has nothing to close.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	return sqlstore.Close(s.db)
}

// row is an entry as stored: its detail as JSON with sorted keys.
type row struct {
	Entry
	detail []byte
}

// maxDetail bounds an entry's detail, encoded.
const maxDetail = 16 << 10

// rowOf checks e and encodes it for the table; over-long source, type and
// event id are cut to what the columns hold.
func rowOf(e Entry) (row, error) {
	if !e.Kind.Valid() || e.ID == "" || e.OrderID == "" || len(e.OrderID) > maxKey || len(e.ID) > 64 {
		return row{}, fmt.Errorf("timeline: invalid entry %q (%s) of %q", e.ID, e.Kind, e.OrderID)
	}
	// DATETIME's range; a missing time would fail the whole write.
	if y := e.At.UTC().Year(); y < 1000 || y > 9999 {
		return row{}, fmt.Errorf("timeline: entry %q of %q: time %s out of range", e.ID, e.OrderID, e.At.Format(time.RFC3339))
	}
	e.Source, e.Type, e.EventID = cut(e.Source), cut(e.Type), cut(e.EventID)
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	detail, err := json.Marshal(e.Detail) // maps encode with sorted keys
	if err != nil || len(detail) > maxDetail {
		return row{}, fmt.Errorf("timeline: entry %q of %q: detail not JSON or over %d bytes", e.ID, e.OrderID, maxDetail)
	}
	e.At = sqlstore.Time(e.At)
	return row{Entry: e, detail: detail}, nil
}

// cut shortens s to maxText bytes, on a rune boundary.
func cut(s string) string {
	if len(s) <= maxText {
		return s
	}
	s = s[:maxText]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// insertChunk bounds the rows of one INSERT (9 placeholders each).
const insertChunk = 500

// Record adds entries: one INSERT for every insertChunk of them. An entry
// already recorded (same order and id) is left as it is.
func (s *Store) Record(ctx context.Context, entries ...Entry) error {
	rows := make([]row, 0, len(entries))
	for _, e := range entries {
		r, err := rowOf(e)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	now := time.Now().UTC()
	for chunk := range slices.Chunk(rows, insertChunk) {
		var q strings.Builder
		q.WriteString("INSERT IGNORE INTO timeline_entries (order_id, id, at, kind, type, event_id, source, detail, recorded_at) VALUES ")
		args := make([]any, 0, 9*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, r.OrderID, r.ID, r.At, string(r.Kind), r.Type, r.EventID, r.Source, r.detail, now)
		}
		if _, err := s.db.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("timeline: record %d entries: %w", len(chunk), err)
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
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, kind, type, event_id, source, detail FROM timeline_entries
		WHERE order_id = ? ORDER BY at, seq LIMIT ?`, orderID, MaxEntries)
	if err != nil {
		return nil, fmt.Errorf("timeline: read %s: %w", orderID, err)
	}
	defer rows.Close()
	var out []Entry
	attempts := map[string]int{}
	for rows.Next() {
		e := Entry{OrderID: orderID}
		var kind string
		var detail []byte
		if err := rows.Scan(&e.ID, &e.At, &kind, &e.Type, &e.EventID, &e.Source, &detail); err != nil {
			return nil, fmt.Errorf("timeline: read %s: %w", orderID, err)
		}
		e.Kind, e.At = Kind(kind), e.At.UTC()
		if err := json.Unmarshal(detail, &e.Detail); err != nil || e.Detail == nil {
			return nil, fmt.Errorf("timeline: read %s: entry %s: detail %q is not a JSON object", orderID, e.ID, detail)
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

// Purge deletes up to limit entries written before before, oldest first,
// and returns how many: bounded work for one tick, through the index on
// recorded_at.
func (s *Store) Purge(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM timeline_entries WHERE recorded_at < ? ORDER BY recorded_at LIMIT ?`,
		before.UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("timeline: purge: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("timeline: purge: %w", err)
	}
	return n, nil
}
