package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
)

// migrationsTable records which migration steps (1-based) ran.
const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INT NOT NULL PRIMARY KEY,
	applied_at DATETIME(6) NOT NULL
)`

// lockTimeout is how long, in seconds, Open waits for another instance
// that is migrating the same database.
const lockTimeout = 60

// migrate applies the steps of migrations that schema_migrations does not
// list. It holds a named lock (GET_LOCK) on one connection meanwhile, so two
// instances starting together do not both run a step.
func migrate(ctx context.Context, db *sql.DB, migrations []string) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() { err = errors.Join(err, conn.Close()) }()

	// The table is created only when it is missing: a start against a
	// migrated database reads one row and is done.
	done, err := applied(ctx, conn)
	if hasNumber(err, errNoSuchTable) {
		if _, err := conn.ExecContext(ctx, migrationsTable); err != nil {
			return fmt.Errorf("migrate: create schema_migrations: %w", err)
		}
		done, err = applied(ctx, conn)
	}
	if err != nil {
		return err
	} else if done >= len(migrations) {
		// Steps are recorded in order: nothing is left.
		return nil
	}

	lock := "knshop_migrate"
	var database sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&database); err != nil {
		return fmt.Errorf("migrate: current database: %w", err)
	}
	lock += "_" + database.String
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", lock, lockTimeout).Scan(&got); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("migrate: lock %s not granted within %ds", lock, lockTimeout)
	}
	defer func() {
		var released sql.NullInt64
		if rerr := conn.QueryRowContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", lock).Scan(&released); rerr != nil {
			err = errors.Join(err, fmt.Errorf("migrate: unlock: %w", rerr))
		}
	}()

	for i, stmt := range migrations {
		version := i + 1
		var one int
		switch err := conn.QueryRowContext(ctx, "SELECT 1 FROM schema_migrations WHERE version = ?", version).Scan(&one); {
		case err == nil:
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("migrate: step %d: %w", version, err)
		}
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			if there, cerr := alreadyThere(ctx, conn, stmt); cerr != nil || !there {
				return errors.Join(fmt.Errorf("migrate: step %d: %w", version, err), cerr)
			}
		}
		if _, err := conn.ExecContext(ctx,
			"INSERT INTO schema_migrations (version, applied_at) VALUES (?, UTC_TIMESTAMP(6))", version); err != nil {
			return fmt.Errorf("migrate: record step %d: %w", version, err)
		}
	}
	return nil
}

// applied returns the highest recorded step.
func applied(ctx context.Context, conn *sql.Conn) (int, error) {
	var n sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&n); err != nil {
		return 0, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	return int(n.Int64), nil
}

// alreadyThere reports whether stmt, a step that failed, adds a column or
// an index the database has already: the step ran and the process died
// before recording it (DDL commits on its own), so the step is done. A
// step of another kind is never already there; it is idempotent itself
// (CREATE TABLE IF NOT EXISTS ...).
func alreadyThere(ctx context.Context, conn *sql.Conn, stmt string) (bool, error) {
	// The DDL that MySQL has no IF NOT EXISTS for (MariaDB has, MySQL 8 and
	// go-mysql-server do not). Compiled here, on a failed step, not at
	// every function's start.
	addColumn := regexp.MustCompile("(?is)^\\s*ALTER\\s+TABLE\\s+`?(\\w+)`?\\s+ADD\\s+COLUMN\\s+`?(\\w+)`?")
	createIndex := regexp.MustCompile("(?is)^\\s*CREATE\\s+(?:UNIQUE\\s+)?INDEX\\s+`?(\\w+)`?\\s+ON\\s+`?(\\w+)`?")
	var query, table, name string
	if m := addColumn.FindStringSubmatch(stmt); m != nil {
		query, table, name = `SELECT COUNT(*) FROM information_schema.COLUMNS
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?`, m[1], m[2]
	} else if m := createIndex.FindStringSubmatch(stmt); m != nil {
		query, table, name = `SELECT COUNT(*) FROM information_schema.STATISTICS
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?`, m[2], m[1]
	} else {
		return false, nil
	}
	var n int
	if err := conn.QueryRowContext(ctx, query, table, name).Scan(&n); err != nil {
		return false, fmt.Errorf("migrate: is %s of %s there already: %w", name, table, err)
	}
	return n > 0, nil
}
