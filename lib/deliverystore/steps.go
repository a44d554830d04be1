package deliverystore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Status changes: a delivery moves one step forward, with its event in the outbox.

// Step is a requested status change.
type Step struct {
	To             Status
	TrackingNumber string // kept when the step sets one and the delivery has none
	At             time.Time
}

// EventFor builds the event a step causes, from the delivery as it is after
// the step.
type EventFor func(d Delivery) (event.Event, error)

// Advance moves delivery id to step.To when that is the next status, stores
// the event build makes in the outbox in the same transaction, and returns
// the delivery and that event. When the delivery already is in step.To it
// changes nothing and returns the step's event built again (the same id), to
// be published again: a repeated step answers what the first did, so an
// event lost after it was sent (a crash of the local Broker) is not lost
// for good. Any other step is ErrOutOfOrder, and any step of a cancelled
// delivery is ErrCancelled.
// allow sees the delivery first and may refuse with an error
// (such as ErrNotFound for a caller who may not see it).
func (s *Store) Advance(ctx context.Context, id string, step Step, allow func(Delivery) error, build EventFor) (Delivery, []event.Event, error) {
	var (
		d   Delivery
		evs []event.Event
	)
	err := sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		var err error
		evs = nil
		d, err = get(ctx, tx, "SELECT "+columns+" FROM deliveries WHERE id = ? FOR UPDATE", id)
		if err != nil {
			return err
		}
		if err := allow(d); err != nil {
			return err
		}
		if d.Status == Cancelled {
			return fmt.Errorf("%w: no %s step", ErrCancelled, step.To)
		}
		if d.Status == step.To {
			e, err := build(d)
			if err != nil {
				return fmt.Errorf("build event: %w", err)
			}
			evs = []event.Event{e}
			return nil
		}
		if d.Status.Next() != step.To {
			return fmt.Errorf("%w: %s after %s", ErrOutOfOrder, step.To, d.Status)
		}
		at := sqlstore.Time(step.At)
		if d.TrackingNumber == "" {
			d.TrackingNumber = step.TrackingNumber
		}
		if err := move(ctx, tx, &d, step.To, at); err != nil {
			return err
		}
		e, err := build(d)
		if err != nil {
			return fmt.Errorf("build event: %w", err)
		}
		evs = []event.Event{e}
		return outbox.AddSQL(ctx, tx, e)
	})
	if err != nil {
		return Delivery{}, nil, fmt.Errorf("deliverystore: advance %s: %w", id, err)
	}
	s.Published(ctx, evs...)
	return d, evs, nil
}

// move moves d, read in tx, on to status to at at (with the tracking number
// d carries): one guarded update (ErrOutOfOrder if d's status changed
// meanwhile) that also writes the history with the new entry.
func move(ctx context.Context, tx *sql.Tx, d *Delivery, to Status, at time.Time) error {
	history, err := encodeHistory(append(d.History, HistoryEntry{Status: to, At: at}))
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx,
		"UPDATE deliveries SET status = ?, tracking_number = ?, updated_at = ?, history = ? WHERE id = ? AND status = ?",
		string(to), nullable(d.TrackingNumber), at, history, d.ID, string(d.Status))
	if err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update status: %w", err)
	} else if n != 1 {
		return fmt.Errorf("%w: status changed meanwhile", ErrOutOfOrder)
	}
	d.Status, d.UpdatedAt = to, at
	d.History = append(d.History, HistoryEntry{Status: to, At: at})
	return nil
}

// storedStep is one entry of a row's history column (a JSON array), apart
// from HistoryEntry so that the API's shape cannot change what is stored.
type storedStep struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
}

// encodeHistory is a delivery's history as its row's history column holds it.
func encodeHistory(h []HistoryEntry) (string, error) {
	steps := make([]storedStep, len(h))
	for i, e := range h {
		steps[i] = storedStep(e)
	}
	b, err := json.Marshal(steps)
	if err != nil {
		return "", fmt.Errorf("encode history: %w", err)
	}
	return string(b), nil
}

// decodeHistory reads a row's history column.
func decodeHistory(raw []byte) ([]HistoryEntry, error) {
	var steps []storedStep
	if err := json.Unmarshal(raw, &steps); err != nil {
		return nil, fmt.Errorf("decode history: %w", err)
	}
	h := make([]HistoryEntry, len(steps))
	for i, s := range steps {
		h[i] = HistoryEntry{Status: s.Status, At: s.At.UTC()}
	}
	return h, nil
}
