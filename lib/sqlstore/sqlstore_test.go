package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

// TestConfigFrom: ConfigFrom is areadb.Read (tested there) on MYSQL_DSN,
// plus a DSN that must parse; its errors are ErrConfig and never echo the
// DSN.
func TestConfigFrom(t *testing.T) {
	dsn := "root:s3cret@tcp(127.0.0.1:3306)/"
	got, err := sqlstore.ConfigFrom(map[string]string{"MYSQL_DSN": dsn, "KNSHOP_SERIALIZE_DB": "true"}, "orders")
	if want := (sqlstore.Config{DSN: dsn, Database: "orders", Serialize: true}); err != nil || got != want {
		t.Fatalf("ConfigFrom = %+v, %v; want %+v", got, err, want)
	}
	for name, cfg := range map[string]map[string]string{
		"missing dsn":     {},
		"bad serialize":   {"MYSQL_DSN": dsn, "KNSHOP_SERIALIZE_DB": "yes please"},
		"unparseable dsn": {"MYSQL_DSN": "s3cret not a dsn"},
	} {
		if _, err := sqlstore.ConfigFrom(cfg, "orders"); !errors.Is(err, sqlstore.ErrConfig) || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("%s: ConfigFrom = %v, want ErrConfig without the DSN", name, err)
		}
	}
	if again, err := sqlstore.ConfigFrom(got.Env("orders"), "orders"); err != nil || again != got {
		t.Fatalf("ConfigFrom(Env) = %+v, %v; want %+v", again, err, got)
	}
}

func TestConfigStringHidesPassword(t *testing.T) {
	c := sqlstore.Config{DSN: "root:s3cret@tcp(127.0.0.1:3306)/", Database: "orders"}
	if s := fmt.Sprint(c); contains(s, "s3cret") {
		t.Fatalf("String() leaks the password: %s", s)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// counted is a migration that is not idempotent on purpose: each run adds a
// row, so the row count says how often it ran.
var counted = []string{
	"CREATE TABLE IF NOT EXISTS runs (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, note VARCHAR(20))",
	"INSERT INTO runs (note) VALUES ('step 2')",
}

func TestOpenAppliesMigrationsOnce(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		ctx := t.Context()
		c := e.Config(t, "migrate")
		const opens = 4
		storetest.Concurrently(t, opens, 1, func(int, int) error {
			db, err := sqlstore.Open(ctx, c, counted)
			if err != nil || c.Serialize {
				return err
			}
			return db.Close()
		})
		db, err := sqlstore.Open(ctx, c, append(counted, "ALTER TABLE runs ADD COLUMN extra INT NULL"))
		if err != nil {
			t.Fatal(err)
		}
		if !c.Serialize {
			t.Cleanup(func() { closeDB(t, db) })
		}
		if n := count(t, db, "SELECT COUNT(*) FROM runs"); n != 1 {
			t.Errorf("step 2 ran %d times, want 1", n)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM schema_migrations"); n != 3 {
			t.Errorf("schema_migrations has %d steps, want 3", n)
		}
		if _, err := db.ExecContext(ctx, "UPDATE runs SET extra = 1"); err != nil {
			t.Errorf("step 3 not applied: %v", err)
		}
	})
}

// A step that adds a column or an index, run but not recorded (the process
// died between the DDL, which commits on its own, and the record), is done
// at the next start: recorded, not run again into "duplicate column". A
// step that fails for another reason still fails.
func TestStepRanButNotRecordedIsDone(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		ctx := t.Context()
		c := e.Config(t, "unrecorded")
		steps := []string{
			"CREATE TABLE IF NOT EXISTS runs (id INT NOT NULL PRIMARY KEY, note VARCHAR(20))",
			"ALTER TABLE runs ADD COLUMN extra INT NULL",
			"CREATE INDEX runs_by_extra ON runs (extra)",
			"ALTER TABLE `runs` ADD COLUMN `more` INT NULL",
		}
		db := openDB(t, c, steps[0])
		for _, ddl := range steps[1:] { // run, and the process dies
			if _, err := db.ExecContext(ctx, ddl); err != nil {
				t.Fatal(err)
			}
		}
		again, err := sqlstore.Open(ctx, c, steps)
		if err != nil {
			t.Fatalf("the start after the crash: %v", err)
		}
		if !c.Serialize {
			t.Cleanup(func() { closeDB(t, again) })
		}
		if n := count(t, again, "SELECT COUNT(*) FROM schema_migrations"); n != len(steps) {
			t.Fatalf("schema_migrations has %d steps, want %d", n, len(steps))
		}
		broken := append(steps, "ALTER TABLE nowhere ADD COLUMN extra INT NULL")
		if _, err := sqlstore.Open(ctx, c, broken); err == nil {
			t.Fatal("a step that cannot run was taken as done")
		}
	})
}

func TestSerializeSharesOnePool(t *testing.T) {
	ctx := t.Context()
	c := storetest.EmbeddedMySQL(t, "shared")
	a, err := sqlstore.Open(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sqlstore.Open(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("two Opens of a serialized database returned two pools")
	}
	if got := a.Stats().MaxOpenConnections; got != 1 {
		t.Fatalf("MaxOpenConnections = %d, want 1", got)
	}
	closeDB(t, a)
	fresh, err := sqlstore.Open(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == a {
		t.Fatal("Open returned a closed pool")
	}
	if err := fresh.PingContext(ctx); err != nil {
		t.Fatalf("fresh pool: %v", err)
	}
}

func TestInTx(t *testing.T) {
	boom := errors.New("boom")
	tests := map[string]struct {
		fn      func(tx *sql.Tx) error
		wantErr error
		want    int
	}{
		"commit": {
			fn: func(tx *sql.Tx) error {
				_, err := tx.Exec("INSERT INTO items (id) VALUES (1), (2)")
				return err
			},
			want: 2,
		},
		"rollback on error": {
			fn: func(tx *sql.Tx) error {
				if _, err := tx.Exec("INSERT INTO items (id) VALUES (1)"); err != nil {
					return err
				}
				return boom
			},
			wantErr: boom,
			want:    0,
		},
	}
	for _, e := range storetest.MySQLEngines(t) {
		for name, tc := range tests {
			t.Run(e.Name+"/"+name, func(t *testing.T) {
				ctx := t.Context()
				db := openDB(t, e.Config(t, "intx"), "CREATE TABLE IF NOT EXISTS items (id INT NOT NULL PRIMARY KEY)")
				err := sqlstore.InTx(ctx, db, tc.fn)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if n := count(t, db, "SELECT COUNT(*) FROM items"); n != tc.want {
					t.Fatalf("%d rows after InTx, want %d", n, tc.want)
				}
			})
		}
	}
}

// TestNoLostUpdates is the invariant the serialized embedded engine exists
// for: concurrent read-modify-write transactions each count once.
func TestNoLostUpdates(t *testing.T) {
	const workers, rounds = 8, 5
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		ctx := t.Context()
		db := openDB(t, e.Config(t, "lost"),
			"CREATE TABLE IF NOT EXISTS counter (id INT NOT NULL PRIMARY KEY, n INT NOT NULL)",
			"INSERT INTO counter (id, n) VALUES (1, 0)")
		storetest.Concurrently(t, workers, rounds, func(int, int) error { return increment(ctx, db) })
		if n := count(t, db, "SELECT n FROM counter WHERE id = 1"); n != workers*rounds {
			t.Fatalf("counter = %d, want %d: updates were lost", n, workers*rounds)
		}
	})
}

func TestErrorClassification(t *testing.T) {
	tests := map[string]struct {
		err       error
		duplicate bool
		retryable bool
	}{
		"duplicate":   {err: &mysql.MySQLError{Number: 1062}, duplicate: true},
		"wrapped dup": {err: fmt.Errorf("insert: %w", &mysql.MySQLError{Number: 1062}), duplicate: true},
		"deadlock":    {err: &mysql.MySQLError{Number: 1213}, retryable: true},
		"lock wait":   {err: fmt.Errorf("x: %w", &mysql.MySQLError{Number: 1205}), retryable: true},
		"other mysql": {err: &mysql.MySQLError{Number: 1146}},
		"plain":       {err: errors.New("1062")},
		"nil":         {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := sqlstore.IsDuplicate(tc.err); got != tc.duplicate {
				t.Errorf("IsDuplicate = %t, want %t", got, tc.duplicate)
			}
			if got := sqlstore.IsRetryable(tc.err); got != tc.retryable {
				t.Errorf("IsRetryable = %t, want %t", got, tc.retryable)
			}
		})
	}
}

func TestDuplicateFromServer(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		db := openDB(t, e.Config(t, "dup"), "CREATE TABLE IF NOT EXISTS u (id INT NOT NULL PRIMARY KEY, email VARCHAR(50) NOT NULL, UNIQUE KEY (email))")
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, "INSERT INTO u VALUES (1, 'a@x')"); err != nil {
			t.Fatal(err)
		}
		_, err := db.ExecContext(ctx, "INSERT INTO u VALUES (2, 'a@x')")
		if !sqlstore.IsDuplicate(err) {
			t.Fatalf("unique key violation: err = %v, want a 1062", err)
		}
	})
}

func TestRetriesDeadlocks(t *testing.T) {
	db := openDB(t, storetest.MySQL(t, "retry"), "CREATE TABLE IF NOT EXISTS items (id INT NOT NULL PRIMARY KEY)")
	calls := 0
	err := sqlstore.InTx(t.Context(), db, func(tx *sql.Tx) error {
		calls++
		if _, err := tx.Exec("INSERT INTO items (id) VALUES (?)", calls); err != nil {
			return err
		}
		if calls < 3 {
			return fmt.Errorf("simulated: %w", &mysql.MySQLError{Number: 1213})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Fatalf("fn ran %d times, want 3", calls)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM items"); n != 1 {
		t.Fatalf("%d rows, want only the committed attempt's 1", n)
	}
}

func openDB(t *testing.T, c sqlstore.Config, migrations ...string) *sql.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), c, migrations)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Serialize {
		t.Cleanup(func() { closeDB(t, db) })
	}
	return db
}

func closeDB(t *testing.T, db *sql.DB) {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func count(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Close leaves the process's shared pool to the other functions that use
// it, and closes a pool of the caller's own.
func TestCloseSparesTheSharedPool(t *testing.T) {
	ctx := t.Context()
	sharedCfg := storetest.EmbeddedMySQL(t, "closeshared")
	shared, err := sqlstore.Open(ctx, sharedCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Close(shared); err != nil {
		t.Fatal(err)
	}
	if err := shared.PingContext(ctx); err != nil {
		t.Fatalf("Close closed the shared pool: %v", err)
	}
	own := sharedCfg
	own.Serialize = false
	db, err := sqlstore.Open(ctx, own, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Close(db); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("Close left a pool of the caller's own open")
	}
	if err := sqlstore.Close(nil); err != nil {
		t.Fatalf("Close(nil) = %v", err)
	}
}

// increment adds one to the counter in a read-modify-write transaction,
// the shape of most handlers.
func increment(ctx context.Context, db *sql.DB) error {
	return sqlstore.InTx(ctx, db, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT n FROM counter WHERE id = 1 FOR UPDATE").Scan(&n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE counter SET n = ? WHERE id = 1", n+1)
		return err
	})
}

// TestTimeIsWhatAReadGivesBack stores sqlstore.Time of a time with
// nanoseconds in another zone in a DATETIME(6) column and reads it back:
// the same instant, in UTC, on every engine.
func TestTimeIsWhatAReadGivesBack(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, e storetest.Engine) {
		db := openDB(t, e.Config(t, "times"), "CREATE TABLE IF NOT EXISTS t (id INT NOT NULL PRIMARY KEY, at DATETIME(6) NOT NULL)")
		ctx := t.Context()
		at := sqlstore.Time(time.Date(2026, 12, 6, 21, 0, 0, 123456789, time.FixedZone("CET", 3600)))
		if at.Location() != time.UTC || at.Nanosecond() != 123456000 {
			t.Fatalf("Time = %v, want UTC to the microsecond", at)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO t (id, at) VALUES (1, ?)", at); err != nil {
			t.Fatal(err)
		}
		var back time.Time
		if err := db.QueryRowContext(ctx, "SELECT at FROM t WHERE id = 1").Scan(&back); err != nil {
			t.Fatal(err)
		}
		if !back.Equal(at) || back.Location() != time.UTC {
			t.Fatalf("read back %v, stored %v", back, at)
		}
	})
}
