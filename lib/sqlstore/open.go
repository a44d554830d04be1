package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// shared holds the one *sql.DB per DSN and database that Open hands out when
// Config.Serialize is set. It is process-wide on purpose: `knshop dev` runs
// every function in one process, each calling Open on its own, and keeps
// one connection per database there (docs/local-run.md says why: the
// embedded engine is correct with more, but was not faster). Callers of
// Open cannot see this.
var shared = struct {
	sync.Mutex
	dbs map[string]*sql.DB
}{dbs: map[string]*sql.DB{}}

// Open connects to c.Database (creating it if missing) and applies
// migrations in order. Each migration runs at most once per database, even
// when several instances start at once. MySQL commits DDL on its own, so
// a crash between a step and its record runs the step again: a step is
// idempotent DDL (CREATE TABLE IF NOT EXISTS ...), or adds a column
// (ALTER TABLE t ADD COLUMN c ...) or an index (CREATE INDEX i ON t ...),
// which MySQL cannot say IF NOT EXISTS for and migrate takes as done when
// the column or index is there already.
//
// With c.Serialize, every Open of the same DSN and database in the process
// returns the same *sql.DB, limited to one open connection: all its
// transactions run one after the other. Never call the *sql.DB from inside
// an InTx function with it (use the *sql.Tx), or it waits for itself.
func Open(ctx context.Context, c Config, migrations []string) (*sql.DB, error) {
	dsn, err := databaseDSN(c)
	if err != nil {
		return nil, err
	}
	if !c.Serialize {
		return open(ctx, c, dsn, migrations)
	}
	shared.Lock()
	defer shared.Unlock()
	if db, ok := shared.dbs[dsn]; ok {
		if err := db.PingContext(ctx); err == nil {
			if err := migrate(ctx, db, migrations); err != nil {
				return nil, fmt.Errorf("sqlstore: open %s: %w", c.Database, err)
			}
			return db, nil
		}
		// Closed by a caller at shutdown, or broken: a later Open gets a new
		// one. Closing twice is harmless.
		delete(shared.dbs, dsn)
		if err := db.Close(); err != nil {
			return nil, fmt.Errorf("sqlstore: open %s: drop stale pool: %w", c.Database, err)
		}
	}
	db, err := open(ctx, c, dsn, migrations)
	if err != nil {
		return nil, err
	}
	shared.dbs[dsn] = db
	return db, nil
}

func open(ctx context.Context, c Config, dsn string, migrations []string) (*sql.DB, error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", c.Database, err)
	}
	if c.Serialize {
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
	} else {
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(5)
	}
	db.SetConnMaxLifetime(30 * time.Minute)
	// The first connection names the database; only when the server does
	// not know it is it created, on a connection of its own, so a start
	// against a database that exists (every start but the first) makes one
	// connection, not two. migrate's first query is the connection's check.
	err = migrate(ctx, db, migrations)
	if hasNumber(err, errUnknownDatabase) {
		if err = CreateDatabase(ctx, c); err == nil {
			err = migrate(ctx, db, migrations)
		}
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlstore: open %s: %w", c.Database, err), db.Close())
	}
	return db, nil
}

// databaseDSN returns c.DSN pointed at c.Database, with parseTime.
func databaseDSN(c Config) (string, error) {
	if c.Database == "" {
		return "", fmt.Errorf("%w: no database name", ErrConfig)
	}
	d, err := mysql.ParseDSN(c.DSN)
	if err != nil {
		return "", fmt.Errorf("%w: DSN does not parse", ErrConfig)
	}
	d.DBName = c.Database
	d.ParseTime = true
	if d.Loc == nil {
		d.Loc = time.UTC
	}
	return d.FormatDSN(), nil
}

// CreateDatabase runs CREATE DATABASE IF NOT EXISTS c.Database on a
// connection that has no database selected, since the database may not
// exist yet. Open does it when the database is missing.
func CreateDatabase(ctx context.Context, c Config) error {
	d, err := mysql.ParseDSN(c.DSN)
	if err != nil {
		return fmt.Errorf("%w: DSN does not parse", ErrConfig)
	}
	d.DBName = ""
	conn, err := mysql.NewConnector(d)
	if err != nil {
		return fmt.Errorf("sqlstore: create database %s: %w", c.Database, err)
	}
	db := sql.OpenDB(conn)
	_, err = db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+QuoteIdent(c.Database))
	if err != nil {
		err = fmt.Errorf("sqlstore: create database %s: %w", c.Database, err)
	}
	return errors.Join(err, db.Close())
}

// QuoteIdent quotes a MySQL identifier (database, table or column name).
func QuoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// Close closes db, a pool Open returned, unless it is the process's shared
// serialized pool, which other functions of the process still use: every
// store closes through it so none has to know which kind it holds. A nil db
// (a store never opened) has nothing to close.
func Close(db *sql.DB) error {
	if db == nil {
		return nil
	}
	shared.Lock()
	for _, s := range shared.dbs {
		if s == db {
			shared.Unlock()
			return nil
		}
	}
	shared.Unlock()
	if err := db.Close(); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}
