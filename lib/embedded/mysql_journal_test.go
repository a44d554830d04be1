package embedded_test

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/embedded"
)

// Every acknowledged commit survives a crash (no dump written), through
// several crashes in a row: autocommitted writes, committed transactions
// (with prepared statements carrying text, bytes, times and NULLs), while a
// rolled-back transaction stays undone.
func TestMySQLCommitsSurviveACrash(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	blob := []byte{0, 1, 2, 0xff, '\'', '\\', '?'}

	m, err := embedded.StartMySQL(ctx, dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	db := connect(t, m, "crashy")
	exec(t, db, `CREATE TABLE things (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL,
		at DATETIME(6) NOT NULL, raw LONGBLOB NULL, note VARCHAR(40) NULL)`)
	want := 0
	for round := range 3 {
		exec(t, db, "INSERT INTO things (name, at, raw) VALUES (?, ?, ?)", fmt.Sprintf("auto '?' %d", round), at, blob)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		exec(t, tx, "INSERT INTO things (name, at, note) VALUES (?, ?, NULL)", fmt.Sprintf("tx %d", round), at)
		exec(t, tx, "UPDATE things SET note = ? WHERE name = ?", "updated in tx", fmt.Sprintf("auto '?' %d", round))
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		undone, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		exec(t, undone, "INSERT INTO things (name, at) VALUES ('rolled back', ?)", at)
		if err := undone.Rollback(); err != nil {
			t.Fatal(err)
		}
		want += 2

		m.Crash()
		if m, err = embedded.StartMySQL(ctx, dir, "127.0.0.1:0"); err != nil {
			t.Fatalf("restart after crash %d: %v", round+1, err)
		}
		db = connect(t, m, "crashy")
		if n := scalar[int](t, db, "SELECT COUNT(*) FROM things"); n != want {
			t.Fatalf("after crash %d: %d rows, want %d", round+1, n, want)
		}
		if n := scalar[int](t, db, "SELECT COUNT(*) FROM things WHERE note = 'updated in tx'"); n != round+1 {
			t.Fatalf("after crash %d: %d updated rows, want %d", round+1, n, round+1)
		}
		var raw []byte
		var gotAt time.Time
		if err := db.QueryRowContext(ctx, "SELECT raw, at FROM things WHERE name = ?", fmt.Sprintf("auto '?' %d", round)).Scan(&raw, &gotAt); err != nil {
			t.Fatal(err)
		}
		if string(raw) != string(blob) || !gotAt.Equal(at) {
			t.Fatalf("after crash %d: restored %v %v", round+1, raw, gotAt)
		}
	}
	// The ids go on from where they were.
	exec(t, db, "INSERT INTO things (name, at) VALUES ('last', ?)", at)
	if id := scalar[int](t, db, "SELECT id FROM things WHERE name = 'last'"); id != want+1 {
		t.Errorf("next id %d, want %d", id, want+1)
	}
	m.Close()
	_ = sql.ErrNoRows
}
