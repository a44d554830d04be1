package timeline_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/storetest"
	"github.com/knshop/knshop/lib/timeline"
)

// BenchmarkTimelineForOrder reads one order's timeline from a collection
// holding KNSHOP_TIMELINE_ORDERS orders (default 100,000) of 8 entries
// each, on MYSQL_DSN's server when set, else the embedded engine.
func BenchmarkTimelineForOrder(b *testing.B) {
	orders := 100_000
	if v, err := strconv.Atoi(os.Getenv("KNSHOP_TIMELINE_ORDERS")); err == nil && v > 0 {
		orders = v
	}
	const perOrder = 8
	ctx := context.Background()
	store, err := timeline.Open(ctx, storetest.MySQL(b, "timelinebench"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	begin := time.Now()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var batch []timeline.Entry
	for o := range orders {
		for k := range perOrder {
			batch = append(batch, timeline.Entry{ID: fmt.Sprintf("e-%d-%d", o, k), OrderID: fmt.Sprintf("order-%07d", o),
				At: t0.Add(time.Duration(o)*time.Second + time.Duration(k)*time.Millisecond), Kind: timeline.KindEvent,
				Type: "ORDER_PLACED", EventID: fmt.Sprintf("ev-%d-%d", o, k), Source: "/knshop/bench", Detail: map[string]any{}})
		}
		if len(batch) >= 800 {
			if err := store.Record(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := store.Record(ctx, batch...); err != nil {
		b.Fatal(err)
	}
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

// BenchmarkTimelineRecordOne is the timeline's write as the saga makes it:
// one report at a time, each adding one entry to an order that already has
// 23 (a whole order's events and deliveries), on MYSQL_DSN's server when
// set, else the embedded engine.
func BenchmarkTimelineRecordOne(b *testing.B) {
	const orders, perOrder = 100, 23
	ctx := context.Background()
	store, err := timeline.Open(ctx, storetest.MySQL(b, "timelinerecord"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	entry := func(o, k int) timeline.Entry {
		return timeline.Entry{ID: fmt.Sprintf("dl-%d-%d", o, k), OrderID: fmt.Sprintf("order-%07d", o),
			At: t0.Add(time.Duration(k) * time.Millisecond), Kind: timeline.KindDelivery, Type: "knshop.order.placed",
			EventID: fmt.Sprintf("ev-%d-%d", o, k), Source: "reserve-stock",
			Detail: map[string]any{"function": "reserve-stock", "status": 200, "durationMs": 12, "attempt": 1}}
	}
	for o := range orders {
		var batch []timeline.Entry
		for k := range perOrder {
			batch = append(batch, entry(o, k))
		}
		if err := store.Record(ctx, batch...); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		if err := store.Record(ctx, entry(i%orders, perOrder+i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
