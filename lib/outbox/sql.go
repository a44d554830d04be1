package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/batch"
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
	// marks gathers the events concurrent Publish calls sent into one
	// UPDATE (a group commit): under load each publisher's mark waits
	// for the database, and the marks queued meanwhile share the next
	// statement instead of taking one each.
	marks *batch.Group[string]
}

// WithSetAside makes Relay hand an event the Broker refuses for good to f
// and go on, instead of stopping at it.
func (o *SQL) WithSetAside(f SetAside) *SQL { o.setAside = f; return o }

// NewSQL returns the outbox of db, sending to s.
func NewSQL(db *sql.DB, s sink.Sender, log *slog.Logger) *SQL {
	o := &SQL{db: db, sender: sender{sink: s, log: log}}
	o.marks = batch.New(o.markSent, 0)
	return o
}

// Publish sends evs, which a committed transaction stored with AddSQL, and
// marks the sent ones, with those of concurrent calls. It stops at the
// first failure so the rest keep their order, and only logs it: the change
// is committed and Relay sends what is left, so a request must not fail
// now. When it returns, what it sent is marked (or the failure logged).
func (o *SQL) Publish(ctx context.Context, evs ...event.Event) {
	o.publishFast(context.WithoutCancel(ctx), evs, func(ctx context.Context, ids []string) error {
		return o.marks.Add(ctx, ids...)
	})
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
		if err := o.markSent(ctx, []string{e.ID()}); err != nil {
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

// markChunk bounds the event ids of one UPDATE.
const markChunk = 200

// markSent marks the events ids sent, through the unique event_id index,
// with one UPDATE for up to markChunk of them.
func (o *SQL) markSent(ctx context.Context, ids []string) error {
	now := time.Now().UTC()
	for chunk := range slices.Chunk(ids, markChunk) {
		args := make([]any, 0, len(chunk)+1)
		args = append(args, now)
		for _, id := range chunk {
			args = append(args, id)
		}
		q := "UPDATE outbox SET sent_at = ? WHERE event_id = ? AND sent_at IS NULL"
		if len(chunk) > 1 {
			q = "UPDATE outbox SET sent_at = ? WHERE event_id IN (?" + strings.Repeat(", ?", len(chunk)-1) + ") AND sent_at IS NULL"
		}
		if _, err := o.db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("mark sent: %w", err)
		}
	}
	return nil
}
