// Package deadletter keeps the events the Broker gave up on: the
// dead-letter sink stores each one with the knativeerror* extensions Knative
// adds, and the admin routes list them and send them back. They live in the
// MySQL database `operations`.
package deadletter

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/opsdb"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Database is the MySQL database of the operations area.
const Database = opsdb.Database

// Migrations create the operations MySQL database (lib/opsdb).
var Migrations = opsdb.Migrations

// The extensions Knative sets on a dead-lettered event.
const (
	ExtErrorDest = "knativeerrordest"
	ExtErrorCode = "knativeerrorcode"
	ExtErrorData = "knativeerrordata"
)

// ErrNotFound: no such dead letter.
var ErrNotFound = errors.New("deadletter: not found")

// Letter is one dead-lettered event.
type Letter struct {
	ID         string      // stable for the event and the subscriber that failed it
	Event      event.Event // as it arrived, extensions included
	ErrorDest  string      // the subscriber that failed it
	ErrorCode  int         // its last HTTP status; 0 when it sent none
	ErrorData  string      // its last answer's body, decoded from base64
	Arrivals   int         // how often it was dead-lettered
	ReceivedAt time.Time   // when it last arrived
	ReplayedAt *time.Time  // when it was last sent back; nil when not since it arrived
}

// LetterFrom reads the knativeerror* extensions of e, received at at.
// knativeerrordata is base64 as Knative sends it; data that is not base64
// is kept as it came.
func LetterFrom(e event.Event, at time.Time) Letter {
	ext := e.Extensions()
	l := Letter{Event: e, ReceivedAt: at.UTC(), Arrivals: 1}
	l.ErrorDest = extString(ext[ExtErrorDest])
	if code, err := strconv.Atoi(extString(ext[ExtErrorCode])); err == nil {
		l.ErrorCode = code
	}
	if raw := extString(ext[ExtErrorData]); raw != "" {
		if b, err := base64.StdEncoding.DecodeString(raw); err == nil {
			l.ErrorData = string(b)
		} else {
			l.ErrorData = raw
		}
	}
	l.ID = letterID(e, l.ErrorDest)
	return l
}

func extString(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// Original is the event as it was before it was dead-lettered: the same id
// and data, without the knativeerror* extensions.
func (l Letter) Original() event.Event {
	e := l.Event.Clone()
	for _, k := range []string{ExtErrorDest, ExtErrorCode, ExtErrorData} {
		e.SetExtension(k, nil) // nil removes it
	}
	return e
}

// Store keeps dead letters.
type Store struct {
	db *sql.DB
}

// New returns the store of db, a database migrated with Migrations.
func New(db *sql.DB) *Store { return &Store{db: db} }

// Open opens the operations database c names and applies Migrations, as
// the dead-letter sink and admin do at start.
func Open(ctx context.Context, c sqlstore.Config) (*Store, error) {
	db, err := sqlstore.Open(ctx, c, Migrations)
	if err != nil {
		return nil, fmt.Errorf("deadletter: open: %w", err)
	}
	return &Store{db: db}, nil
}

// Refused is the letter of an event the Broker's ingress (dest) refused for
// good with status and body: an outbox relay sets such an event aside here
// so it can go on, and an admin sees it and can replay it.
func Refused(e event.Event, dest string, status int, body string, at time.Time) Letter {
	return Letter{ID: letterID(e, dest), Event: e, ErrorDest: dest, ErrorCode: status, ErrorData: body, ReceivedAt: at.UTC()}
}

// letterID is stable for one event (source and id) failed at one
// destination, so a repeated arrival finds its letter.
func letterID(e event.Event, dest string) string {
	return ids.Derive(ids.Derive(e.Source(), e.ID()), dest)
}

// Close closes the database Open opened, unless it is the process's shared
// serialized pool, which other functions still use. A nil Store (a
// function never started) has nothing to close.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	return sqlstore.Close(s.db)
}

// Add stores l. The same event failed by the same subscriber is stored once:
// a repeated arrival changes nothing, unless the letter was replayed since,
// in which case the letter is open again with the new error. added tells
// whether a letter was created or reopened.
func (s *Store) Add(ctx context.Context, l Letter) (added bool, err error) {
	raw, err := json.Marshal(l.Event)
	if err != nil {
		return false, fmt.Errorf("deadletter: add: encode event: %w", err)
	}
	code := sql.NullInt64{Int64: int64(l.ErrorCode), Valid: l.ErrorCode != 0}
	err = sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		added = false
		var replayed sql.NullTime
		err := tx.QueryRowContext(ctx, "SELECT replayed_at FROM dead_letters WHERE id = ? FOR UPDATE", l.ID).Scan(&replayed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO dead_letters
				(id, event_id, event_source, event_type, event, error_dest, error_code, error_data, arrivals, received_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
				l.ID, l.Event.ID(), l.Event.Source(), l.Event.Type(), raw, l.ErrorDest, code, l.ErrorData, l.ReceivedAt); err != nil {
				return fmt.Errorf("insert: %w", err)
			}
			added = true
		case err != nil:
			return fmt.Errorf("find: %w", err)
		case replayed.Valid:
			if _, err := tx.ExecContext(ctx, `UPDATE dead_letters SET event = ?, error_code = ?, error_data = ?,
				arrivals = arrivals + 1, received_at = ?, replayed_at = NULL WHERE id = ?`,
				raw, code, l.ErrorData, l.ReceivedAt, l.ID); err != nil {
				return fmt.Errorf("reopen: %w", err)
			}
			added = true
		}
		return nil
	})
	if sqlstore.IsDuplicate(err) {
		return false, nil // a concurrent arrival of the same letter stored it
	}
	if err != nil {
		return false, fmt.Errorf("deadletter: add %s: %w", l.ID, err)
	}
	return added, nil
}

const columns = "id, event, error_dest, error_code, error_data, arrivals, received_at, replayed_at"

// List returns up to limit letters after offset, newest first, and how many
// there are in all.
func (s *Store) List(ctx context.Context, offset, limit int) (letters []Letter, total int, err error) {
	err = sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		letters = nil
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM dead_letters").Scan(&total); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+columns+" FROM dead_letters ORDER BY received_at DESC, id LIMIT ? OFFSET ?", limit, offset)
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scan(rows)
			if err != nil {
				return err
			}
			letters = append(letters, l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("deadletter: list: %w", err)
	}
	return letters, total, nil
}

// Get returns the letter id.
func (s *Store) Get(ctx context.Context, id string) (Letter, error) {
	l, err := scan(s.db.QueryRowContext(ctx, "SELECT "+columns+" FROM dead_letters WHERE id = ?", id))
	if err != nil {
		return Letter{}, fmt.Errorf("deadletter: get %s: %w", id, sqlstore.NotFound(err, ErrNotFound))
	}
	return l, nil
}

// MarkReplayed records that letter id was sent back at at.
func (s *Store) MarkReplayed(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, "UPDATE dead_letters SET replayed_at = ? WHERE id = ?", at.UTC(), id)
	if err != nil {
		return fmt.Errorf("deadletter: mark %s replayed: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("deadletter: mark %s replayed: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// UnmarkReplayed takes back the mark MarkReplayed set at at, restoring
// previous (nil: never replayed), unless the letter changed since (the
// replayed event failed again and reopened it).
func (s *Store) UnmarkReplayed(ctx context.Context, id string, at time.Time, previous *time.Time) error {
	var prev sql.NullTime
	if previous != nil {
		prev = sql.NullTime{Time: previous.UTC(), Valid: true}
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE dead_letters SET replayed_at = ? WHERE id = ? AND replayed_at = ?", prev, id, at.UTC()); err != nil {
		return fmt.Errorf("deadletter: unmark %s replayed: %w", id, err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scan(r scanner) (Letter, error) {
	var (
		l        Letter
		raw      []byte
		dest     sql.NullString
		code     sql.NullInt64
		data     sql.NullString
		replayed sql.NullTime
	)
	if err := r.Scan(&l.ID, &raw, &dest, &code, &data, &l.Arrivals, &l.ReceivedAt, &replayed); err != nil {
		return Letter{}, err
	}
	if err := json.Unmarshal(raw, &l.Event); err != nil {
		return Letter{}, fmt.Errorf("decode event: %w", err)
	}
	l.ErrorDest, l.ErrorCode, l.ErrorData = dest.String, int(code.Int64), data.String
	if replayed.Valid {
		t := replayed.Time
		l.ReplayedAt = &t
	}
	return l, nil
}
