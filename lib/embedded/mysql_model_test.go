package embedded_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// modelRow is a row of the model table: a is nullable.
type modelRow struct {
	a *int
	b string
}

type model map[int]modelRow

func (m model) clone() model {
	out := make(model, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ids lists the ids of the rows keep accepts, in order.
func (m model) ids(keep func(id int, r modelRow) bool) string {
	var ids []int
	for id, r := range m {
		if keep(id, r) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, " ")
}

func (m model) bTaken(b string, except int) bool {
	for id, r := range m {
		if id != except && r.b == b {
			return true
		}
	}
	return false
}

// The storage against a model: thousands of random inserts, updates and
// deletes (some in transactions rolled back, some failing on a duplicate
// key) on a table with a primary key, a nullable indexed column and a
// unique one, each followed by lookups through every index, checked
// against what a plain map says they must return.
func TestMySQLStorageMatchesAModel(t *testing.T) {
	m := startMySQL(t, "")
	db := connect(t, m, "model")
	db.SetMaxOpenConns(1)
	exec(t, db, "CREATE TABLE m (id INT NOT NULL PRIMARY KEY, a INT NULL, b VARCHAR(8) NOT NULL, KEY m_a (a), UNIQUE KEY m_b (b))")
	rng := rand.New(rand.NewPCG(11, 13))
	want := model{}
	ctx := t.Context()
	randA := func() *int {
		if rng.IntN(5) == 0 {
			return nil
		}
		v := rng.IntN(20)
		return &v
	}
	randB := func() string { return fmt.Sprintf("b%03d", rng.IntN(300)) }
	isDup := func(err error) bool {
		var me *mysql.MySQLError
		return errors.As(err, &me) && me.Number == 1062
	}
	type execer interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}
	// step applies one random change to q and to cur, and reports a
	// mismatch between what the engine did and what the model expects.
	step := func(q execer, cur model) {
		t.Helper()
		id := rng.IntN(200)
		switch rng.IntN(4) {
		case 0, 1:
			a, b := randA(), randB()
			_, err := q.ExecContext(ctx, "INSERT INTO m VALUES (?, ?, ?)", id, a, b)
			_, exists := cur[id]
			switch {
			case exists || cur.bTaken(b, -1):
				if !isDup(err) {
					t.Fatalf("insert %d %s: err %v, want a duplicate key", id, b, err)
				}
			case err != nil:
				t.Fatalf("insert %d %s: %v", id, b, err)
			default:
				cur[id] = modelRow{a: a, b: b}
			}
		case 2:
			a, b := randA(), randB()
			res, err := q.ExecContext(ctx, "UPDATE m SET a = ?, b = ? WHERE id = ?", a, b, id)
			_, exists := cur[id]
			switch {
			case exists && cur.bTaken(b, id):
				if !isDup(err) {
					t.Fatalf("update %d to %s: err %v, want a duplicate key", id, b, err)
				}
			case err != nil:
				t.Fatalf("update %d: %v", id, err)
			default:
				if n, _ := res.RowsAffected(); exists && n != 1 && cur[id].b != b {
					t.Fatalf("update %d: %d rows affected", id, n)
				}
				if exists {
					cur[id] = modelRow{a: a, b: b}
				}
			}
		case 3:
			lo := rng.IntN(20)
			hi := lo + rng.IntN(3)
			if _, err := q.ExecContext(ctx, "DELETE FROM m WHERE a BETWEEN ? AND ?", lo, hi); err != nil {
				t.Fatalf("delete: %v", err)
			}
			for k, r := range cur {
				if r.a != nil && *r.a >= lo && *r.a <= hi {
					delete(cur, k)
				}
			}
		}
	}
	got := func(query string) string { return column(t, db, query) }
	check := func(round int) {
		t.Helper()
		x := rng.IntN(20)
		y := x + rng.IntN(6)
		lo := rng.IntN(200)
		hi := lo + rng.IntN(40)
		b := randB()
		for query, expect := range map[string]string{
			fmt.Sprintf("SELECT id FROM m WHERE a = %d ORDER BY id", x): want.ids(func(_ int, r modelRow) bool { return r.a != nil && *r.a == x }),
			fmt.Sprintf("SELECT id FROM m WHERE a > %d AND a <= %d ORDER BY id", x, y): want.ids(func(_ int, r modelRow) bool {
				return r.a != nil && *r.a > x && *r.a <= y
			}),
			"SELECT id FROM m WHERE a IS NULL ORDER BY id":                                 want.ids(func(_ int, r modelRow) bool { return r.a == nil }),
			fmt.Sprintf("SELECT id FROM m WHERE b = '%s'", b):                              want.ids(func(_ int, r modelRow) bool { return r.b == b }),
			fmt.Sprintf("SELECT id FROM m WHERE id BETWEEN %d AND %d ORDER BY id", lo, hi): want.ids(func(id int, _ modelRow) bool { return id >= lo && id <= hi }),
			fmt.Sprintf("SELECT id FROM m WHERE id < %d OR id > %d ORDER BY id", lo, hi):   want.ids(func(id int, _ modelRow) bool { return id < lo || id > hi }),
			"SELECT id FROM m ORDER BY id":                                                 want.ids(func(int, modelRow) bool { return true }),
		} {
			if g := got(query); g != expect {
				t.Fatalf("round %d: %s\n got  %q\n want %q", round, query, g, expect)
			}
		}
	}
	for round := range 300 {
		if rng.IntN(3) == 0 {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			cur := want.clone()
			for range 1 + rng.IntN(8) {
				step(tx, cur)
			}
			if rng.IntN(2) == 0 {
				if err := tx.Rollback(); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				want = cur
			}
		} else {
			for range 1 + rng.IntN(8) {
				step(db, want)
			}
		}
		check(round)
	}
}
