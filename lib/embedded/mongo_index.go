package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself uses
)

// FerretDB v1 (SQLite backend) finds a document by _id with
// `WHERE _ferretdb_sjson->'$._id' = ?`, but indexes _id on the expression
// `_ferretdb_sjson->"_id"`. SQLite uses an index only for the very
// expression it was built on, so every lookup by _id reads the whole table
// (measured: 25 ms at 8,000 documents, growing linearly). idIndexer adds,
// for every collection table, an index on the expression the lookups use;
// FerretDB keeps its own metadata and never sees it. Tables appear as
// collections are created, so it looks again every period.
type idIndexer struct {
	dir    string
	log    *slog.Logger
	period time.Duration
}

// run indexes now and then every period until ctx ends.
func (x idIndexer) run(ctx context.Context) {
	t := time.NewTicker(x.period)
	defer t.Stop()
	for {
		if err := x.once(ctx); err != nil && ctx.Err() == nil {
			x.log.Warn("embedded mongo: indexing _id lookups failed; trying again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// once indexes the tables of every database file that lack the index.
func (x idIndexer) once(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		errs = append(errs, indexFile(ctx, f))
	}
	return errors.Join(errs...)
}

func indexFile(ctx context.Context, file string) (err error) {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || '_knshop_id')`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil // no collection yet
		}
		return fmt.Errorf("%s: %w", filepath.Base(file), err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return errors.Join(err, rows.Close())
		}
		tables = append(tables, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s_knshop_id" ON "%s" (_ferretdb_sjson->'$._id')`, t, t)
		if _, err := db.ExecContext(ctx, q); err != nil && !strings.Contains(err.Error(), "no such table") {
			return fmt.Errorf("%s: %s: %w", filepath.Base(file), t, err)
		}
	}
	return nil
}
