package embedded_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/knshop/knshop/lib/embedded"
	"github.com/knshop/knshop/lib/storetest"
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
	cfg, err := mysql.ParseDSN(m.DSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName, cfg.ParseTime = name, true
	db, err := sql.Open("mysql", cfg.FormatDSN())
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

// column is the first column of query's rows, as text, joined by spaces.
func column(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var vals []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vals = append(vals, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(vals, " ")
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
// begin opens a transaction on db or fails the test.
func begin(t *testing.T, db *sql.DB) *sql.Tx {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestGoMySQLServerFeatures(t *testing.T) {
	m := startMySQL(t, t.TempDir())
	tests := map[string]func(t *testing.T, db *sql.DB){
		"rollback undoes": func(t *testing.T, db *sql.DB) {
			tx := begin(t, db)
			exec(t, tx, "INSERT INTO kv VALUES (1, 'a')")
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			if n := scalar[int](t, db, "SELECT COUNT(*) FROM kv"); n != 0 {
				t.Fatalf("%d rows after rollback", n)
			}
		},
		"uncommitted rows are invisible to other connections": func(t *testing.T, db *sql.DB) {
			tx := begin(t, db)
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
		"insert ignore skips only the duplicate rows": func(t *testing.T, db *sql.DB) {
			exec(t, db, "INSERT INTO kv VALUES (2, 'old')")
			tx := begin(t, db)
			exec(t, tx, "INSERT INTO kv VALUES (9, 'before')")
			res, err := tx.Exec("INSERT IGNORE INTO kv VALUES (1, 'a'), (2, 'dup of a committed row'), (3, 'c'), (3, 'dup in the statement'), (4, 'd')")
			if err != nil {
				t.Fatal(err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 3 {
				t.Fatalf("%d rows affected, %v; want 3", n, err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if got := scalar[string](t, db, "SELECT GROUP_CONCAT(CONCAT(k, '=', v) ORDER BY k) FROM kv"); got != "1=a,2=old,3=c,4=d,9=before" {
				t.Fatalf("rows %s", got)
			}
		},
		"insert ignore that fails on a row keeps none of its rows": func(t *testing.T, db *sql.DB) {
			tx := begin(t, db)
			exec(t, tx, "INSERT INTO kv VALUES (9, 'before')")
			// The third row's JSON_EXTRACT fails: not a duplicate, so not
			// ignored, and the statement is undone whole.
			_, err := tx.Exec(`INSERT IGNORE INTO kv SELECT 1, JSON_EXTRACT('{"a":"x"}', '$.a')
				UNION ALL SELECT 2, 'b' UNION ALL SELECT 3, JSON_EXTRACT('not json', '$.a')`)
			if err == nil {
				t.Fatal("a failing row went through")
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if got := scalar[string](t, db, "SELECT GROUP_CONCAT(CONCAT(k, '=', v) ORDER BY k) FROM kv"); got != "9=before" {
				t.Fatalf("rows %s", got)
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
		"max over an empty table is one NULL": func(t *testing.T, db *sql.DB) {
			var n sql.NullInt64
			if err := db.QueryRowContext(t.Context(), "SELECT MAX(k) FROM kv").Scan(&n); err != nil {
				t.Fatalf("SELECT MAX(k) over no rows: %v", err)
			}
			if n.Valid {
				t.Fatalf("MAX(k) over no rows = %d, want NULL", n.Int64)
			}
		},
		"lookups by primary key and by index": func(t *testing.T, db *sql.DB) {
			exec(t, db, "CREATE TABLE ord (id VARCHAR(20) NOT NULL PRIMARY KEY, customer VARCHAR(20) NOT NULL, status VARCHAR(10) NOT NULL, due BIGINT NULL, KEY ord_customer (customer, status), KEY ord_due (due))")
			for i := range 50 {
				due := any(nil)
				if i%5 != 0 {
					due = i
				}
				exec(t, db, "INSERT INTO ord VALUES (?, ?, ?, ?)", fmt.Sprintf("o%02d", i), fmt.Sprintf("c%d", i%3), []string{"PENDING", "PAID"}[i%2], due)
			}
			got := func(q string) string { return column(t, db, q) }
			for q, want := range map[string]string{
				"SELECT id FROM ord WHERE id = 'o07'":                                                        "o07",
				"SELECT id FROM ord WHERE id IN ('o03', 'o44', 'zz') ORDER BY id":                            "o03 o44",
				"SELECT id FROM ord WHERE id > 'o45' ORDER BY id DESC":                                       "o49 o48 o47 o46",
				"SELECT id FROM ord WHERE customer = 'c1' AND status = 'PAID' ORDER BY id":                   "o01 o07 o13 o19 o25 o31 o37 o43 o49",
				"SELECT id FROM ord WHERE customer = 'c2' AND status = 'PENDING' AND id < 'o20' ORDER BY id": "o02 o08 o14",
				"SELECT id FROM ord WHERE due IS NULL ORDER BY id":                                           "o00 o05 o10 o15 o20 o25 o30 o35 o40 o45",
				"SELECT id FROM ord WHERE due BETWEEN 41 AND 44 ORDER BY due":                                "o41 o42 o43 o44",
				"SELECT id FROM ord WHERE due < 4 OR due > 47 ORDER BY due DESC":                             "o49 o48 o03 o02 o01",
				"SELECT id FROM ord WHERE due >= 46 ORDER BY due LIMIT 2":                                    "o46 o47",
			} {
				if g := got(q); g != want {
					t.Errorf("%s = %q, want %q", q, g, want)
				}
			}
			exec(t, db, "UPDATE ord SET status = 'PAID', due = 100 WHERE id = 'o02'")
			exec(t, db, "DELETE FROM ord WHERE customer = 'c2' AND status = 'PENDING'")
			if g := got("SELECT id FROM ord WHERE customer = 'c2' ORDER BY id"); g != "o02 o05 o11 o17 o23 o29 o35 o41 o47" {
				t.Errorf("after the update and delete, c2's orders = %q", g)
			}
			if g := got("SELECT id FROM ord WHERE due > 99"); g != "o02" {
				t.Errorf("after the update, due > 99 = %q", g)
			}
		},
		"lookups with values of another type": func(t *testing.T, db *sql.DB) {
			exec(t, db, "INSERT INTO kv VALUES (1, 'a'), (2, 'b')")
			for _, q := range []string{
				"SELECT COUNT(*) FROM kv WHERE k = 'abc'",
				"SELECT COUNT(*) FROM kv WHERE k > 'x' OR k < '-'",
				"SELECT COUNT(*) FROM kv WHERE k IN ('1', 'b', 2.0)",
				"SELECT COUNT(*) FROM kv WHERE v = 1",
				"SELECT COUNT(*) FROM kv WHERE v BETWEEN 0 AND 9.5",
			} {
				var n int
				if err := db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
					t.Logf("%s: %v", q, err) // refused is fine; the server must live on
				}
			}
			if n := scalar[int](t, db, "SELECT COUNT(*) FROM kv WHERE k IN ('1', 2.0)"); n != 2 {
				t.Fatalf("k IN ('1', 2.0) found %d rows, want 2", n)
			}
		},
		"a failed statement is undone alone": func(t *testing.T, db *sql.DB) {
			exec(t, db, "INSERT INTO kv VALUES (1, 'a')")
			tx := begin(t, db)
			exec(t, tx, "INSERT INTO kv VALUES (2, 'b')")
			// The first row goes in, the second breaks the unique key: the
			// statement leaves nothing behind, the transaction goes on.
			if _, err := tx.ExecContext(t.Context(), "INSERT INTO kv VALUES (3, 'c'), (4, 'a')"); err == nil {
				t.Fatal("a duplicate in a multi-row insert was accepted")
			}
			if _, err := tx.ExecContext(t.Context(), "UPDATE kv SET v = 'a' WHERE k = 2"); err == nil {
				t.Fatal("an update onto a unique value was accepted")
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if n := scalar[int](t, db, "SELECT COUNT(*) FROM kv"); n != 2 {
				t.Fatalf("%d rows, want 2 (k=3 undone with its statement)", n)
			}
			if v := scalar[string](t, db, "SELECT v FROM kv WHERE k = 2"); v != "b" {
				t.Fatalf("k=2 is %q", v)
			}
		},
		"add column and create index on rows": func(t *testing.T, db *sql.DB) {
			exec(t, db, "INSERT INTO kv VALUES (1, 'a'), (2, 'b')")
			exec(t, db, "ALTER TABLE kv ADD COLUMN n INT NOT NULL DEFAULT 7")
			exec(t, db, "ALTER TABLE kv ADD COLUMN at DATETIME(6) NULL")
			if n := scalar[int](t, db, "SELECT SUM(n) FROM kv WHERE at IS NULL"); n != 14 {
				t.Fatalf("sum of the new column's defaults = %d", n)
			}
			exec(t, db, "CREATE INDEX kv_n ON kv (n)")
			exec(t, db, "UPDATE kv SET n = 9 WHERE k = 2")
			if k := scalar[int](t, db, "SELECT k FROM kv WHERE n = 9"); k != 2 {
				t.Fatalf("k by the new index = %d", k)
			}
			if _, err := db.ExecContext(t.Context(), "CREATE UNIQUE INDEX kv_at ON kv (n, at)"); err != nil {
				t.Fatalf("unique index over distinct values (NULLs never clash): %v", err)
			}
			exec(t, db, "UPDATE kv SET n = 9")
			if _, err := db.ExecContext(t.Context(), "CREATE UNIQUE INDEX kv_n_unique ON kv (n)"); err == nil {
				t.Fatal("a unique index over duplicate values was created")
			}
			if n := scalar[int](t, db, "SELECT COUNT(*) FROM kv WHERE n = 9"); n != 2 {
				t.Fatalf("%d rows by the index after the refused one", n)
			}
		},
		"a dropped database comes back empty": func(t *testing.T, db *sql.DB) {
			exec(t, db, "INSERT INTO kv VALUES (1, 'a')")
			exec(t, db, "CREATE DATABASE again")
			exec(t, db, "CREATE TABLE again.t (k INT PRIMARY KEY)")
			exec(t, db, "INSERT INTO again.t VALUES (1)")
			exec(t, db, "DROP DATABASE again")
			exec(t, db, "CREATE DATABASE again")
			exec(t, db, "CREATE TABLE again.t (k INT PRIMARY KEY)")
			if n := scalar[int](t, db, "SELECT COUNT(*) FROM again.t"); n != 0 {
				t.Fatalf("%d rows in a table of a dropped and re-created database", n)
			}
			exec(t, db, "DROP DATABASE again")
		},
		"overlapping write transactions take turns": func(t *testing.T, db *sql.DB) {
			exec(t, db, "INSERT INTO kv VALUES (1, 'a'), (2, 'b')")
			a := begin(t, db)
			b := begin(t, db)
			exec(t, a, "UPDATE kv SET v = 'a2' WHERE k = 1")
			// b's first write waits for a's transaction to end.
			bWrote := make(chan error, 1)
			go func() {
				_, err := b.ExecContext(t.Context(), "UPDATE kv SET v = 'b2' WHERE k = 2")
				bWrote <- err
			}()
			select {
			case err := <-bWrote:
				t.Fatalf("a second writer went ahead while the first transaction was open (err %v)", err)
			case <-time.After(200 * time.Millisecond):
			}
			if v := scalar[string](t, db, "SELECT v FROM kv WHERE k = 1"); v != "a" {
				t.Fatalf("another connection reads the uncommitted %q", v)
			}
			if err := a.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := <-bWrote; err != nil {
				t.Fatal(err)
			}
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			v1 := scalar[string](t, db, "SELECT v FROM kv WHERE k = 1")
			v2 := scalar[string](t, db, "SELECT v FROM kv WHERE k = 2")
			if v1 != "a2" || v2 != "b2" {
				t.Fatalf("after two overlapping commits on different rows: k1=%s k2=%s, want a2 and b2", v1, v2)
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

// A client that goes away in a transaction (its connection closed, no
// ROLLBACK) must not keep its database's write turn: the server rolls the
// transaction back and the next writer goes ahead at once.
func TestMySQLLostConnectionRollsBack(t *testing.T) {
	m := startMySQL(t, "")
	db := connect(t, m, "lost")
	exec(t, db, "CREATE TABLE kv (k INT NOT NULL PRIMARY KEY, v VARCHAR(20) NOT NULL)")
	exec(t, db, "INSERT INTO kv VALUES (1, 'a')")
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	exec(t, conn, "BEGIN")
	exec(t, conn, "UPDATE kv SET v = 'lost' WHERE k = 1")
	// Close the network connection under database/sql, as a crashed
	// client's would close.
	if err := conn.Raw(func(dc any) error { return dc.(io.Closer).Close() }); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close() // the driver already reports the connection bad
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "INSERT INTO kv VALUES (2, 'next')"); err != nil {
		t.Fatalf("the next writer: %v", err)
	}
	if v := scalar[string](t, db, "SELECT v FROM kv WHERE k = 1"); v != "a" {
		t.Fatalf("k=1 is %q: the lost transaction's write stayed", v)
	}
}

// counters is database name on a fresh server, with a pool of 16
// connections and a table counter of n rows (id 1 to n, n 0).
func counters(t *testing.T, name string, n int) *sql.DB {
	t.Helper()
	db := connect(t, startMySQL(t, ""), name)
	db.SetMaxOpenConns(16)
	exec(t, db, "CREATE TABLE counter (id INT NOT NULL PRIMARY KEY, n BIGINT NOT NULL)")
	for id := 1; id <= n; id++ {
		exec(t, db, "INSERT INTO counter VALUES (?, 0)", id)
	}
	return db
}

// Writers on many connections at once take turns, so none loses another's
// commit; readers meanwhile never see a transaction's rows before its
// COMMIT, and never wait.
func TestMySQLConcurrentWritersLoseNothing(t *testing.T) {
	db := counters(t, "busy", 1)
	exec(t, db, "CREATE TABLE entries (id VARCHAR(40) NOT NULL PRIMARY KEY, writer INT NOT NULL, KEY entries_writer (writer))")
	const writers, each = 8, 40
	done, read := make(chan struct{}), make(chan error, 1)
	go func() {
		// A reader: the committed counter never runs ahead of what any
		// commit could have made it, and a writer's entries are a multiple
		// of what it commits.
		for {
			select {
			case <-done:
				read <- nil
				return
			default:
			}
			var n int
			if err := db.QueryRowContext(t.Context(), "SELECT n FROM counter WHERE id = 1").Scan(&n); err != nil {
				read <- err
				return
			}
			if n > writers*each*4/5 {
				read <- fmt.Errorf("the counter reads %d, more than could commit", n)
				return
			}
		}
	}()
	storetest.Concurrently(t, writers, each, func(w, i int) error {
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if _, err := tx.ExecContext(t.Context(), "UPDATE counter SET n = n + 1 WHERE id = 1"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(t.Context(), "INSERT INTO entries VALUES (?, ?)", fmt.Sprintf("%d-%d", w, i), w); err != nil {
			return err
		}
		if i%5 == 4 {
			return nil // rolled back: neither change may stay
		}
		return tx.Commit()
	})
	close(done)
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	want := writers * each * 4 / 5
	if n := scalar[int](t, db, "SELECT n FROM counter WHERE id = 1"); n != want {
		t.Fatalf("counter = %d, want %d", n, want)
	}
	if n := scalar[int](t, db, "SELECT COUNT(*) FROM entries"); n != want {
		t.Fatalf("%d entries, want %d", n, want)
	}
	if n := scalar[int](t, db, "SELECT COUNT(*) FROM entries WHERE writer = 3"); n != each*4/5 {
		t.Fatalf("writer 3 has %d entries by the index, want %d", n, each*4/5)
	}
}

// A statement reads one commit: while transactions change two tables
// together, a statement that reads both never sees one changed and the
// other not yet.
func TestMySQLStatementSeesWholeCommits(t *testing.T) {
	m := startMySQL(t, "")
	db := connect(t, m, "whole")
	db.SetMaxOpenConns(4)
	exec(t, db, "CREATE TABLE a (id INT NOT NULL PRIMARY KEY, n BIGINT NOT NULL)")
	exec(t, db, "CREATE TABLE b (id INT NOT NULL PRIMARY KEY, n BIGINT NOT NULL)")
	exec(t, db, "INSERT INTO a VALUES (1, 0)")
	exec(t, db, "INSERT INTO b VALUES (1, 0)")
	const commits = 400
	done := make(chan error, 1)
	go func() {
		for range commits {
			tx, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				done <- err
				return
			}
			for _, q := range []string{"UPDATE a SET n = n + 1 WHERE id = 1", "UPDATE b SET n = n + 1 WHERE id = 1"} {
				if _, err := tx.ExecContext(t.Context(), q); err != nil {
					done <- errors.Join(err, tx.Rollback())
					return
				}
			}
			if err := tx.Commit(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		var na, nb int
		if err := db.QueryRowContext(t.Context(), "SELECT a.n, b.n FROM a JOIN b ON a.id = b.id").Scan(&na, &nb); err != nil {
			t.Fatal(err)
		}
		if na != nb {
			t.Fatalf("one statement read a.n = %d and b.n = %d: half a commit", na, nb)
		}
	}
}

// A locking read holds what it read until its transaction ends: writers
// that read a counter with SELECT ... FOR UPDATE and write back what they
// read plus one lose no increment (without the lock, two of them read the
// same value and one increment is lost), and the rows a transaction read
// FOR UPDATE do not change under it. The lock of a locking read outside a
// transaction ends with its statement.
func TestMySQLLockingReadsHoldWhatTheyRead(t *testing.T) {
	db := counters(t, "locking", 2)
	const writers, each = 8, 25
	storetest.Concurrently(t, writers, each, func(w, _ int) error {
		// Half the writers lock through the primary key's index, half
		// through a scan of the table.
		query := "SELECT n FROM counter WHERE id = 1 FOR UPDATE"
		if w%2 == 1 {
			query = "SELECT MAX(n) FROM counter\n  for update ;"
		}
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		var n int
		if err := tx.QueryRowContext(t.Context(), query).Scan(&n); err != nil {
			return err
		}
		if _, err := tx.ExecContext(t.Context(), "UPDATE counter SET n = ? WHERE id = 1", n+1); err != nil {
			return err
		}
		return tx.Commit()
	})
	if n := scalar[int](t, db, "SELECT n FROM counter WHERE id = 1"); n != writers*each {
		t.Fatalf("counter = %d after %d locked increments: increments were lost", n, writers*each)
	}

	// Held: a write from elsewhere waits for the reader's transaction.
	reader := begin(t, db)
	var before int
	if err := reader.QueryRowContext(t.Context(), "SELECT n FROM counter WHERE id = 2 FOR UPDATE").Scan(&before); err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(t.Context(), "UPDATE counter SET n = n + 10 WHERE id = 2")
		wrote <- err
	}()
	for range 20 {
		var again int
		if err := reader.QueryRowContext(t.Context(), "SELECT n FROM counter WHERE id = 2").Scan(&again); err != nil {
			t.Fatal(err)
		}
		if again != before {
			t.Fatalf("a row read FOR UPDATE changed under its transaction: %d, then %d", before, again)
		}
		select {
		case err := <-wrote:
			t.Fatalf("a write finished while a transaction held the row it read FOR UPDATE (err %v)", err)
		default:
		}
	}
	if err := reader.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}

	// Outside a transaction, the lock is the statement's alone: a write
	// on another connection goes through after it (a held lock would make
	// it wait for the lock wait timeout and fail).
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(t.Context(), "SELECT n FROM counter WHERE id = 2 FOR UPDATE").Scan(&n); err != nil {
		t.Fatal(err)
	}
	other, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := other.ExecContext(ctx, "UPDATE counter SET n = n + 1 WHERE id = 2"); err != nil {
		t.Fatalf("a write after a locking read outside a transaction: %v", err)
	}
}
