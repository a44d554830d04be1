package embedded_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/knshop/knshop/lib/embedded"
)

func startMySQL(t *testing.T, dir string) *embedded.MySQL {
	t.Helper()
	m, err := embedded.StartMySQL(t.Context(), dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// connect opens database name on m, creating it first.
func connect(t testing.TB, m *embedded.MySQL, name string) *sql.DB {
	t.Helper()
	root, err := sql.Open("mysql", m.DSN())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.ExecContext(t.Context(), "CREATE DATABASE IF NOT EXISTS "+name); err != nil {
		t.Fatal(err)
	}
	if err := root.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", m.DSN()+name+"?parseTime=true")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db
}

func exec(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func scalar[T any](t *testing.T, db *sql.DB, query string, args ...any) T {
	t.Helper()
	var v T
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// TestGoMySQLServerFeatures measures what the embedded engine does with
// the SQL the stores use; docs/local-run.md lists the results.
func TestGoMySQLServerFeatures(t *testing.T) {
	m := startMySQL(t, t.TempDir())
	tests := map[string]func(t *testing.T, db *sql.DB){
		"rollback undoes": func(t *testing.T, db *sql.DB) {
			tx, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			exec(t, tx, "INSERT INTO kv VALUES (1, 'a')")
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			if n := scalar[int](t, db, "SELECT COUNT(*) FROM kv"); n != 0 {
				t.Fatalf("%d rows after rollback", n)
			}
		},
		"uncommitted rows are invisible to other connections": func(t *testing.T, db *sql.DB) {
			tx, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			exec(t, tx, "INSERT INTO kv VALUES (1, 'a')")
			if n := scalar[int](t, db, "SELECT COUNT(*) FROM kv"); n != 0 {
				t.Fatalf("another connection sees %d uncommitted rows", n)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if n := scalar[int](t, db, "SELECT COUNT(*) FROM kv"); n != 1 {
				t.Fatalf("%d rows after commit", n)
			}
		},
		"on duplicate key update": func(t *testing.T, db *sql.DB) {
			exec(t, db, "INSERT INTO kv VALUES (1, 'a') ON DUPLICATE KEY UPDATE v = 'x'")
			exec(t, db, "INSERT INTO kv VALUES (1, 'b') ON DUPLICATE KEY UPDATE v = VALUES(v)")
			if v := scalar[string](t, db, "SELECT v FROM kv WHERE k = 1"); v != "b" {
				t.Fatalf("v = %q", v)
			}
		},
		"unique violation is 1062": func(t *testing.T, db *sql.DB) {
			exec(t, db, "INSERT INTO kv VALUES (1, 'a')")
			_, err := db.ExecContext(t.Context(), "INSERT INTO kv VALUES (2, 'a')")
			var me *mysql.MySQLError
			if !errors.As(err, &me) || me.Number != 1062 {
				t.Fatalf("err = %v, want 1062", err)
			}
		},
		"auto increment": func(t *testing.T, db *sql.DB) {
			exec(t, db, "CREATE TABLE seqs (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT)")
			exec(t, db, "INSERT INTO seqs (v) VALUES (10), (20)")
			if n := scalar[int](t, db, "SELECT MAX(id) FROM seqs"); n != 2 {
				t.Fatalf("max id %d", n)
			}
		},
		"json column": func(t *testing.T, db *sql.DB) {
			exec(t, db, "CREATE TABLE docs (id INT PRIMARY KEY, body JSON NOT NULL)")
			exec(t, db, `INSERT INTO docs VALUES (1, '{"a": {"b": 7}}')`)
			if v := scalar[int](t, db, "SELECT JSON_EXTRACT(body, '$.a.b') FROM docs WHERE id = 1"); v != 7 {
				t.Fatalf("extracted %d", v)
			}
		},
		"json numbers are float64: integers beyond 2^53 are rounded": func(t *testing.T, db *sql.DB) {
			exec(t, db, "CREATE TABLE docs (id INT PRIMARY KEY, body JSON NOT NULL)")
			exec(t, db, `INSERT INTO docs VALUES (1, '{"n": 9007199254740993}')`)
			if v := scalar[int64](t, db, "SELECT JSON_EXTRACT(body, '$.n') FROM docs WHERE id = 1"); v == 9007199254740993 {
				t.Fatal("kept exactly: update docs/local-run.md")
			}
		},
		"datetime(6) round trip": func(t *testing.T, db *sql.DB) {
			exec(t, db, "CREATE TABLE times (id INT PRIMARY KEY, at DATETIME(6) NOT NULL)")
			at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
			exec(t, db, "INSERT INTO times VALUES (1, ?)", at)
			if got := scalar[time.Time](t, db, "SELECT at FROM times WHERE id = 1"); !got.Equal(at) {
				t.Fatalf("got %v, want %v", got, at)
			}
		},
		"foreign key to a primary key is refused": func(t *testing.T, db *sql.DB) {
			_, err := db.ExecContext(t.Context(), "CREATE TABLE child (id INT PRIMARY KEY, k INT NOT NULL, FOREIGN KEY (k) REFERENCES kv (k))")
			if err == nil {
				t.Fatal("accepted now: update docs/local-run.md")
			}
		},
		"get_lock": func(t *testing.T, db *sql.DB) {
			if n := scalar[int](t, db, "SELECT GET_LOCK('x', 1)"); n != 1 {
				t.Fatalf("GET_LOCK = %d", n)
			}
			if n := scalar[int](t, db, "SELECT RELEASE_LOCK('x')"); n != 1 {
				t.Fatalf("RELEASE_LOCK = %d", n)
			}
		},
		"for update does not block another writer": func(t *testing.T, db *sql.DB) {
			exec(t, db, "INSERT INTO kv VALUES (1, 'a')")
			tx, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := tx.Rollback(); err != nil {
					t.Error(err)
				}
			}()
			var v string
			if err := tx.QueryRowContext(t.Context(), "SELECT v FROM kv WHERE k = 1 FOR UPDATE").Scan(&v); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			if _, err := db.ExecContext(ctx, "UPDATE kv SET v = 'b' WHERE k = 1"); err != nil {
				t.Fatalf("a writer waited for the row lock (a real lock!): %v", err)
			}
		},
		"concurrent transactions lose each other's writes": func(t *testing.T, db *sql.DB) {
			exec(t, db, "INSERT INTO kv VALUES (1, 'a'), (2, 'b')")
			a, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			exec(t, a, "UPDATE kv SET v = 'a2' WHERE k = 1")
			exec(t, b, "UPDATE kv SET v = 'b2' WHERE k = 2")
			if err := a.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			v1 := scalar[string](t, db, "SELECT v FROM kv WHERE k = 1")
			v2 := scalar[string](t, db, "SELECT v FROM kv WHERE k = 2")
			t.Logf("after two overlapping commits on different rows: k1=%s k2=%s", v1, v2)
			if v1 == "a2" && v2 == "b2" {
				t.Fatal("both writes survived: the engine merges commits now; update docs/local-run.md")
			}
		},
	}
	i := 0
	for name, run := range tests {
		i++
		t.Run(name, func(t *testing.T) {
			db := connect(t, m, "f"+string(rune('a'+i)))
			exec(t, db, "CREATE TABLE kv (k INT NOT NULL PRIMARY KEY, v VARCHAR(20) NOT NULL, UNIQUE KEY (v))")
			run(t, db)
		})
	}
}

func TestMySQLDataSurvivesCleanRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	blob := []byte{0, 1, 2, 0xff, '\'', '\\'}

	first, err := embedded.StartMySQL(ctx, dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"shop_a", "shop_b"} {
		db := connect(t, first, name)
		exec(t, db, `CREATE TABLE things (
			id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
			name VARCHAR(40) NOT NULL,
			body JSON NULL,
			at DATETIME(6) NOT NULL,
			raw LONGBLOB NULL,
			price DECIMAL(12,2) NULL,
			ok BOOLEAN NOT NULL DEFAULT TRUE,
			ts TIMESTAMP NULL,
			UNIQUE KEY (name))`)
		exec(t, db, `CREATE TABLE a_lines (
			id INT NOT NULL PRIMARY KEY,
			thing_id BIGINT NOT NULL,
			KEY (thing_id))`)
		exec(t, db, "INSERT INTO things (name, body, at, raw, price) VALUES (?, ?, ?, ?, ?)",
			"it's "+name, `{"n": 123456789012, "s": "é"}`, at, blob, "12.34")
		exec(t, db, "INSERT INTO things (name, body, at, raw, price) VALUES (?, NULL, ?, NULL, NULL)", "nulls", at)
		exec(t, db, "INSERT INTO a_lines VALUES (1, 1)")
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	first.Close()

	second := startMySQL(t, dir)
	for _, name := range []string{"shop_a", "shop_b"} {
		db := connect(t, second, name)
		var (
			got     string
			body    sql.NullString
			gotAt   time.Time
			raw     []byte
			price   sql.NullString
			nullCnt int
		)
		if err := db.QueryRowContext(ctx, "SELECT name, body, at, raw, price FROM things WHERE id = 1").
			Scan(&got, &body, &gotAt, &raw, &price); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != "it's "+name || !gotAt.Equal(at) || string(raw) != string(blob) || price.String != "12.34" {
			t.Fatalf("%s: restored %q %v %v %q", name, got, gotAt, raw, price.String)
		}
		if n := scalar[int64](t, db, "SELECT JSON_EXTRACT(body, '$.n') FROM things WHERE id = 1"); n != 123456789012 {
			t.Errorf("%s: JSON number restored as %d", name, n)
		}
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM things WHERE body IS NULL AND raw IS NULL AND price IS NULL").Scan(&nullCnt); err != nil || nullCnt != 1 {
			t.Fatalf("%s: NULLs restored as %d, %v", name, nullCnt, err)
		}
		if n := scalar[int](t, db, "SELECT COUNT(*) FROM a_lines JOIN things ON things.id = a_lines.thing_id WHERE things.ok"); n != 1 {
			t.Errorf("%s: child rows restored: %d, want 1", name, n)
		}
		exec(t, db, "INSERT INTO things (name, at) VALUES ('after restart', ?)", at)
		if id := scalar[int64](t, db, "SELECT id FROM things WHERE name = 'after restart'"); id != 3 {
			t.Errorf("%s: auto increment continued at %d, want 3", name, id)
		}
		_, err := db.ExecContext(ctx, "INSERT INTO things (name, at) VALUES ('nulls', ?)", at)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1062 {
			t.Errorf("%s: unique key not restored: %v", name, err)
		}
	}
}
