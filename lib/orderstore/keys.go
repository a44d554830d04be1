package orderstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/knshop/knshop/lib/sqlstore"
)

// keyTable is a table of Idempotency-Keys: (customer, key) → the request's
// hash and the id of what the first request made. Its names are constants
// of this package, never input.
type keyTable struct{ table, idColumn string }

var (
	orderKeys  = keyTable{"idempotency_keys", "order_id"}
	returnKeys = keyTable{"return_keys", "return_id"}
)

var errKeyTaken = errors.New("idempotency key taken")

// claim records key for id in tx; errKeyTaken when the customer used the
// key before (a racing request waits on the unique key, then gets it).
func (k keyTable) claim(ctx context.Context, tx *sql.Tx, customerID, key, hash, id string, at time.Time) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO "+k.table+" (customer_id, idem_key, request_hash, "+k.idColumn+
		", created_at) VALUES (?, ?, ?, ?, ?)", customerID, key, hash, id, at.UTC())
	if sqlstore.IsDuplicate(err) {
		return errKeyTaken
	}
	if err != nil {
		return fmt.Errorf("idempotency key: %w", err)
	}
	return nil
}

// first returns the id the key's first request made, or
// ErrIdempotencyMismatch when this request's hash is another.
func (k keyTable) first(ctx context.Context, db *sql.DB, customerID, key, hash string) (string, error) {
	var got, id string
	err := db.QueryRowContext(ctx, "SELECT request_hash, "+k.idColumn+" FROM "+k.table+" WHERE customer_id = ? AND idem_key = ?",
		customerID, key).Scan(&got, &id)
	if err != nil {
		return "", fmt.Errorf("read idempotency key: %w", err)
	}
	if got != hash {
		return "", ErrIdempotencyMismatch
	}
	return id, nil
}
