package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQL error numbers the stores care about.
const (
	errLockWaitTimeout = 1205
	errDeadlock        = 1213
	errDuplicateEntry  = 1062
	errUnknownDatabase = 1049
	errNoSuchTable     = 1146
)

// txAttempts is how many times InTx runs fn when MySQL aborts it for a
// deadlock or a lock wait timeout.
const txAttempts = 4

// InTx runs fn in a transaction and commits it; it rolls back when fn (or
// the commit) fails. A transaction MySQL aborted for a deadlock or a lock
// wait timeout is run again from the start, a few times, so fn must not have
// effects outside the transaction.
func InTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := 1; attempt <= txAttempts; attempt++ {
		err = runTx(ctx, db, fn)
		if err == nil || !IsRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
		}
	}
	return fmt.Errorf("sqlstore: transaction gave up after %d attempts: %w", txAttempts, err)
}

func runTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("sqlstore: rollback: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// IsDuplicate reports whether err is MySQL's duplicate entry error (1062),
// the answer to an INSERT that breaks a primary or unique key.
func IsDuplicate(err error) bool { return hasNumber(err, errDuplicateEntry) }

// IsRetryable reports whether err is a deadlock (1213) or a lock wait
// timeout (1205): the transaction was aborted and may simply be run again.
func IsRetryable(err error) bool {
	return hasNumber(err, errDeadlock) || hasNumber(err, errLockWaitTimeout)
}

func hasNumber(err error, number uint16) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == number
}

// NotFound is err, a row scan's error, with sql.ErrNoRows turned into
// notFound (a store's own ErrNotFound): how a store reads one row by key.
func NotFound(err, notFound error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound
	}
	return err
}

// Queryer is what a read needs: a *sql.DB or a *sql.Tx, so one read
// function serves both inside and outside a transaction.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Execer reads and writes: a pool (*sql.DB, each statement on its own) or
// a transaction (*sql.Tx).
type Execer interface {
	Queryer
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
