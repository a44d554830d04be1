package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/sink"
)

// MySQLTable is the outbox table; add it to the migrations of a function
// that writes events with AddSQL. seq orders the relay oldest first;
// event_id is unique so the same event is never stored twice; event holds
// the CloudEvent in the structured JSON format, byte for byte (a BLOB rather
// than a JSON column, which may reformat numbers).
const MySQLTable = `CREATE TABLE IF NOT EXISTS outbox (
	seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	event_id VARCHAR(191) NOT NULL,
	event LONGBLOB NOT NULL,
	created_at DATETIME(6) NOT NULL,
	sent_at DATETIME(6) NULL,
	UNIQUE KEY outbox_event_id (event_id),
	KEY outbox_pending (sent_at, seq)
)`

// AddSQL stores evs in the outbox inside the caller's transaction, so they
// commit, or roll back, with the change that caused them.
func AddSQL(ctx context.Context, tx *sql.Tx, evs ...event.Event) error {
	now := time.Now().UTC()
	for _, e := range evs {
		b, err := encode(e)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO outbox (event_id, event, created_at) VALUES (?, ?, ?)", e.ID(), b, now); err != nil {
			return fmt.Errorf("outbox: add %s: %w", e.ID(), err)
		}
	}
	return nil
}

// SQL publishes and relays the outbox of one MySQL database.
type SQL struct {
	db *sql.DB
	sender
}

// WithSetAside makes Relay hand an event the Broker refuses for good to f
// and go on, instead of stopping at it.
func (o *SQL) WithSetAside(f SetAside) *SQL { o.setAside = f; return o }

// NewSQL returns the outbox of db, sending to s.
func NewSQL(db *sql.DB, s sink.Sender, log *slog.Logger) *SQL {
	return &SQL{db: db, sender: sender{sink: s, log: log}}
}

// Publish sends evs, which a committed transaction stored with AddSQL, and
// marks each sent. It stops at the first failure so the rest keep their
// order, and only logs it: the change is committed and Relay sends what is
// left, so a request must not fail now.
func (o *SQL) Publish(ctx context.Context, evs ...event.Event) {
	o.publishFast(context.WithoutCancel(ctx), evs, o.markSent)
}

// Relay sends up to limit unsent events, oldest first, marking each sent.
// It stops at the first failure, so a later event never overtakes an
// earlier one, and returns how many it sent; with WithSetAside, an event
// refused for good is set aside (and marked sent) and the relay goes on.
func (o *SQL) Relay(ctx context.Context, limit int) (int, error) {
	pending, err := o.pending(ctx, limit)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, p := range pending {
		e, err := decode(p.event)
		if err != nil {
			return sent, fmt.Errorf("outbox: relay seq %d: %w", p.seq, err)
		}
		aside, err := o.sendOrSetAside(ctx, e)
		if err != nil {
			return sent, fmt.Errorf("outbox: relay %s: %w", e.ID(), err)
		}
		if err := o.markSent(ctx, e.ID()); err != nil {
			return sent, fmt.Errorf("outbox: relay %s: %w", e.ID(), err)
		}
		if !aside {
			sent++
		}
	}
	return sent, nil
}

// Purge deletes at most limit of the events sent before cutoff, oldest
// first (through the outbox_pending index), and returns how many it
// deleted. A sent event is kept only for a look at what went out; without
// purging the table grows by every event ever sent.
func (o *SQL) Purge(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	res, err := o.db.ExecContext(ctx,
		"DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ? ORDER BY sent_at LIMIT ?", cutoff.UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("outbox: purge: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("outbox: purge: %w", err)
	}
	return n, nil
}

type pendingRow struct {
	seq   int64
	event []byte
}

// pending reads the oldest unsent rows. It reads them all before sending
// anything: with a serialized store the one connection must be free again
// for the updates that follow.
func (o *SQL) pending(ctx context.Context, limit int) (rows []pendingRow, err error) {
	if limit <= 0 {
		return nil, nil
	}
	r, err := o.db.QueryContext(ctx,
		"SELECT seq, event FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: read pending: %w", err)
	}
	defer func() {
		if cerr := r.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("outbox: read pending: %w", cerr)
		}
	}()
	for r.Next() {
		var p pendingRow
		if err := r.Scan(&p.seq, &p.event); err != nil {
			return nil, fmt.Errorf("outbox: read pending: %w", err)
		}
		rows = append(rows, p)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("outbox: read pending: %w", err)
	}
	return rows, nil
}

func (o *SQL) markSent(ctx context.Context, id string) error {
	_, err := o.db.ExecContext(ctx,
		"UPDATE outbox SET sent_at = ? WHERE event_id = ? AND sent_at IS NULL", time.Now().UTC(), id)
	if err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	return nil
}
