package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// dumpFile is where the embedded MySQL keeps its data between runs.
const dumpFile = "mysql-dump.json"

// systemDatabases are the engine's own; they are never dumped.
var systemDatabases = map[string]bool{
	"information_schema": true, "mysql": true, "performance_schema": true, "sys": true,
}

type dump struct {
	// Generation is the journal that starts where this dump ends: the
	// journals before it are in the dump, that one is replayed over it.
	Generation int64          `json:"generation"`
	Databases  []dumpDatabase `json:"databases"`
}

type dumpDatabase struct {
	Name   string      `json:"name"`
	Tables []dumpTable `json:"tables"`
}

type dumpTable struct {
	Name   string `json:"name"`
	Create string `json:"create"`
	// Binary marks the columns whose values are bytes rather than text.
	Binary []bool `json:"binary"`
	// Rows hold each value as text (or base64 bytes when Binary); nil is NULL.
	Rows [][]*[]byte `json:"rows"`
}

// Save checkpoints: new commits go to a new journal, every table of every
// database is written to the dump file (replacing the previous dump in one
// rename) naming that journal, and the older journals are deleted. Close
// calls it; the next StartMySQL on the same directory loads the dump and
// replays the journal it names. A crash anywhere in between leaves a dump
// and the journal that goes with it.
func (m *MySQL) Save(ctx context.Context) error {
	if m.dir == "" {
		return nil
	}
	gen := m.generation + 1
	if m.journal != nil {
		if err := m.journal.open(m.dir, gen); err != nil {
			return err
		}
	}
	if err := m.save(ctx, gen); err != nil {
		return err
	}
	m.generation = gen
	if m.journal != nil {
		return m.journal.removeBefore(m.dir, gen)
	}
	return nil
}

func (m *MySQL) save(ctx context.Context, gen int64) error {
	db, err := m.client()
	if err != nil {
		return fmt.Errorf("embedded: save mysql: %w", err)
	}
	d, err := readAll(ctx, db)
	d.Generation = gen
	err = errors.Join(err, db.Close())
	if err != nil {
		return fmt.Errorf("embedded: save mysql: %w", err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("embedded: save mysql: %w", err)
	}
	if err := os.MkdirAll(m.dir, 0o750); err != nil {
		return fmt.Errorf("embedded: save mysql: %w", err)
	}
	tmp := filepath.Join(m.dir, dumpFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("embedded: save mysql: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(m.dir, dumpFile)); err != nil {
		return fmt.Errorf("embedded: save mysql: %w", err)
	}
	return nil
}

// recover loads the dump and replays the journal it names over it; when
// the journal held anything, it checkpoints (Save), so a journal only ever
// holds one run's commits.
func (m *MySQL) recover(ctx context.Context) error {
	if m.journal == nil {
		return m.load(ctx)
	}
	m.journal.setOff(true)
	err := m.load(ctx)
	m.journal.setOff(false)
	if err != nil {
		return err
	}
	if err := m.journal.open(m.dir, m.generation); err != nil {
		return err
	}
	db, err := m.client()
	if err != nil {
		return fmt.Errorf("embedded: recover mysql: %w", err)
	}
	n, err := m.journal.replay(ctx, db)
	if err = errors.Join(err, db.Close()); err != nil {
		return fmt.Errorf("embedded: recover mysql: %w", err)
	}
	if n == 0 {
		return nil
	}
	m.log.Info("embedded mysql: replayed the journal", "transactions", n)
	return m.Save(ctx)
}

// load replays the dump file, if there is one.
func (m *MySQL) load(ctx context.Context) error {
	if m.dir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(m.dir, dumpFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("embedded: load mysql: %w", err)
	}
	var d dump
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("embedded: load mysql: %s: %w", dumpFile, err)
	}
	m.generation = d.Generation
	db, err := m.client()
	if err != nil {
		return fmt.Errorf("embedded: load mysql: %w", err)
	}
	err = writeAll(ctx, db, d)
	if err = errors.Join(err, db.Close()); err != nil {
		return fmt.Errorf("embedded: load mysql: %w", err)
	}
	return nil
}

// client is a one-connection pool to the server itself.
func (m *MySQL) client() (*sql.DB, error) {
	c, err := mysql.ParseDSN(m.DSN())
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db, nil
}

func readAll(ctx context.Context, db *sql.DB) (dump, error) {
	var d dump
	names, err := strings1(ctx, db, "SHOW DATABASES")
	if err != nil {
		return d, err
	}
	for _, name := range names {
		if systemDatabases[strings.ToLower(name)] {
			continue
		}
		dd := dumpDatabase{Name: name}
		tables, err := strings1(ctx, db, "SHOW TABLES FROM "+quote(name))
		if err != nil {
			return d, err
		}
		for _, table := range tables {
			t, err := readTable(ctx, db, name, table)
			if err != nil {
				return d, err
			}
			dd.Tables = append(dd.Tables, t)
		}
		d.Databases = append(d.Databases, dd)
	}
	return d, nil
}

func readTable(ctx context.Context, db *sql.DB, database, table string) (t dumpTable, err error) {
	t.Name = table
	full := quote(database) + "." + quote(table)
	var ignored string
	if err := db.QueryRowContext(ctx, "SHOW CREATE TABLE "+full).Scan(&ignored, &t.Create); err != nil {
		return t, fmt.Errorf("show create table %s: %w", full, err)
	}
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+full)
	if err != nil {
		return t, fmt.Errorf("read %s: %w", full, err)
	}
	defer func() { err = errors.Join(err, rows.Close()) }()
	types, err := rows.ColumnTypes()
	if err != nil {
		return t, fmt.Errorf("read %s: %w", full, err)
	}
	for _, ct := range types {
		name := strings.ToUpper(ct.DatabaseTypeName())
		t.Binary = append(t.Binary, strings.Contains(name, "BLOB") || strings.Contains(name, "BINARY"))
	}
	for rows.Next() {
		raw := make([]sql.RawBytes, len(types))
		ptrs := make([]any, len(types))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return t, fmt.Errorf("read %s: %w", full, err)
		}
		row := make([]*[]byte, len(raw))
		for i, v := range raw {
			if v != nil {
				c := append([]byte{}, v...)
				row[i] = &c
			}
		}
		t.Rows = append(t.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return t, fmt.Errorf("read %s: %w", full, err)
	}
	return t, nil
}

func writeAll(ctx context.Context, db *sql.DB, d dump) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, conn.Close()) }()
	if _, err := conn.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 0"); err != nil {
		return fmt.Errorf("disable foreign key checks: %w", err)
	}
	for _, dd := range d.Databases {
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quote(dd.Name)); err != nil {
			return fmt.Errorf("create database %s: %w", dd.Name, err)
		}
		if _, err := conn.ExecContext(ctx, "USE "+quote(dd.Name)); err != nil {
			return fmt.Errorf("use %s: %w", dd.Name, err)
		}
		for _, t := range dd.Tables {
			if err := writeTable(ctx, conn, t); err != nil {
				return fmt.Errorf("restore %s.%s: %w", dd.Name, t.Name, err)
			}
		}
	}
	return nil
}

func writeTable(ctx context.Context, conn *sql.Conn, t dumpTable) error {
	if _, err := conn.ExecContext(ctx, t.Create); err != nil {
		return err
	}
	if len(t.Rows) == 0 {
		return nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(t.Binary)), ", ")
	insert := "INSERT INTO " + quote(t.Name) + " VALUES (" + marks + ")"
	for _, row := range t.Rows {
		args := make([]any, len(row))
		for i, v := range row {
			switch {
			case v == nil:
				args[i] = nil
			case t.Binary[i]:
				args[i] = *v
			default:
				args[i] = string(*v)
			}
		}
		if _, err := conn.ExecContext(ctx, insert, args...); err != nil {
			return err
		}
	}
	return nil
}

// strings1 returns the first column of every row of query.
func strings1(ctx context.Context, db *sql.DB, query string) (out []string, err error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", query, err)
	}
	defer func() { err = errors.Join(err, rows.Close()) }()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("%s: %w", query, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }
