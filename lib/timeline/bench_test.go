package timeline_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/opsdb"
	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
	"github.com/knshop/knshop/lib/timeline"
)

// BenchmarkTimelineForOrder reads one order's timeline from a table
// holding KNSHOP_TIMELINE_ORDERS orders (default 100,000) of 8 entries
// each, on MYSQL_DSN's server when set, else the embedded engine.
func BenchmarkTimelineForOrder(b *testing.B) {
	orders := 100_000
	if v, err := strconv.Atoi(os.Getenv("KNSHOP_TIMELINE_ORDERS")); err == nil && v > 0 {
		orders = v
	}
	const perOrder = 8
	ctx := context.Background()
	c := storetest.MySQL(b, "timelinebench")
	store, err := timeline.Open(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	db, err := sqlstore.Open(ctx, c, opsdb.Migrations)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	begin := time.Now()
	seed(b, db, orders, perOrder)
	b.Logf("seeded %d orders × %d entries in %v", orders, perOrder, time.Since(begin).Round(time.Millisecond))
	b.ResetTimer()
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("order-%07d", (i*7919)%orders)
		i++
		got, err := store.ForOrder(ctx, id)
		if err != nil || len(got) != perOrder {
			b.Fatalf("ForOrder(%s) = %d entries, %v", id, len(got), err)
		}
	}
}

// seed inserts the entries in multi-row statements of 500 rows.
func seed(b *testing.B, db *sql.DB, orders, perOrder int) {
	b.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const rows = 500
	var sb strings.Builder
	var args []any
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		if _, err := db.Exec("INSERT INTO timeline (id, order_key, at, kind, type, event_id, source, detail) VALUES "+strings.TrimSuffix(sb.String(), ","), args...); err != nil {
			b.Fatal(err)
		}
		sb.Reset()
		args, n = args[:0], 0
	}
	for o := range orders {
		for k := range perOrder {
			sb.WriteString("(?,?,?,?,?,?,?,?),")
			args = append(args, fmt.Sprintf("e-%d-%d", o, k), fmt.Sprintf("order-%07d", o), t0.Add(time.Duration(o)*time.Second+time.Duration(k)*time.Millisecond),
				"event", "ORDER_PLACED", fmt.Sprintf("ev-%d-%d", o, k), "/knshop/bench", "{}")
			if n++; n == rows {
				flush()
			}
		}
	}
	flush()
}
