package catalog_test

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/metrics"
	"github.com/knshop/knshop/lib/storetest"
)

// sell reserves and settles qty units of product for a new order.
func sell(t *testing.T, s *catalog.Store, product string, qty int64) {
	t.Helper()
	order := ids.New()
	if h, err := s.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: product, Quantity: qty}}); err != nil || h.Status != catalog.StatusReserved {
		t.Fatalf("reserve: %+v %v", h, err)
	}
	if _, err := s.SettleOrder(t.Context(), order); err != nil {
		t.Fatal(err)
	}
}

func TestRestockReturnOnce(t *testing.T) {
	s := newStore(t)
	mug, tea := addProduct(t, s, 10), addProduct(t, s, 5)
	sell(t, s, mug, 3)
	sell(t, s, tea, 2)
	ret := ids.New()
	items := []catalog.Item{{ProductID: mug, Quantity: 2}, {ProductID: tea, Quantity: 1}}
	n, err := s.RestockReturn(t.Context(), ret, items)
	if err != nil || n != 3 {
		t.Fatalf("restock = %d, %v; want 3", n, err)
	}
	for range 2 { // duplicates
		if n, err := s.RestockReturn(t.Context(), ret, items); err != nil || n != 0 {
			t.Fatalf("repeat = %d, %v; want 0", n, err)
		}
	}
	if st, res, sold := counters(t, s, mug); st != 9 || res != 0 || sold != 1 {
		t.Fatalf("mug stock/reserved/sold = %d/%d/%d, want 9/0/1", st, res, sold)
	}
	if st, _, sold := counters(t, s, tea); st != 4 || sold != 1 {
		t.Fatalf("tea stock/sold = %d/%d, want 4/1", st, sold)
	}
	if done, err := s.Restocked(t.Context(), ret); err != nil || !done {
		t.Fatalf("restocked = %v, %v", done, err)
	}
	// Another return of the same product restocks on its own.
	if n, err := s.RestockReturn(t.Context(), ids.New(), []catalog.Item{{ProductID: mug, Quantity: 1}}); err != nil || n != 1 {
		t.Fatalf("second return = %d, %v", n, err)
	}
	if _, err := s.RestockReturn(t.Context(), "a.b", items); !errors.Is(err, catalog.ErrInvalidID) {
		t.Fatalf("dotted id: %v", err)
	}
}

// Concurrent deliveries of one RETURN_RECEIVED restock its units once, and
// so does a delivery that died midway (the marker of the product it did
// stops the redelivery from adding them again).
func TestRestockReturnConcurrentAndInterrupted(t *testing.T) {
	s := newStore(t)
	mug, tea := addProduct(t, s, 100), addProduct(t, s, 100)
	sell(t, s, mug, 10)
	sell(t, s, tea, 10)
	for range 3 {
		ret := ids.New()
		items := []catalog.Item{{ProductID: mug, Quantity: 2}, {ProductID: tea, Quantity: 3}}
		var total atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				n, err := s.RestockReturn(t.Context(), ret, items)
				if err != nil {
					t.Error(err)
				}
				total.Add(n)
			})
		}
		wg.Wait()
		if total.Load() != 5 {
			t.Fatalf("8 concurrent deliveries restocked %d units, want 5", total.Load())
		}
	}
	// Interrupted: only the mug got its units back, no fact was written.
	ret := ids.New()
	if n, err := s.RestockReturn(t.Context(), ret, []catalog.Item{{ProductID: mug, Quantity: 1}}); err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if _, err := s.Products().Database().Collection(catalog.HoldsCollection).DeleteOne(t.Context(), bson.D{{Key: "_id", Value: ret + "#restocked"}}); err != nil {
		t.Fatal(err)
	}
	n, err := s.RestockReturn(t.Context(), ret, []catalog.Item{{ProductID: mug, Quantity: 1}, {ProductID: tea, Quantity: 1}})
	if err != nil || n != 1 {
		t.Fatalf("redelivery after the interruption restocked %d, %v; want 1 (the tea only)", n, err)
	}
	if st, _, _ := counters(t, s, mug); st != 100-10+3*2+1 {
		t.Fatalf("mug stock %d", st)
	}
	if st, _, _ := counters(t, s, tea); st != 100-10+3*3+1 {
		t.Fatalf("tea stock %d", st)
	}
}

// A done return's markers are pruned like the others; a marker whose return
// is not done yet stays, however old.
func TestRestockMarkersArePrunedOnceDone(t *testing.T) {
	s := newStore(t)
	s.SetMarkerRetention(50*time.Millisecond, 1)
	mug := addProduct(t, s, 100)
	sell(t, s, mug, 10)
	done, pending := ids.New(), ids.New()
	for _, r := range []string{done, pending} {
		if _, err := s.RestockReturn(t.Context(), r, []catalog.Item{{ProductID: mug, Quantity: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Products().Database().Collection(catalog.HoldsCollection).DeleteOne(t.Context(), bson.D{{Key: "_id", Value: pending + "#restocked"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := s.RestockReturn(t.Context(), ids.New(), []catalog.Item{{ProductID: mug, Quantity: 1}}); err != nil { // a restock prunes
		t.Fatal(err)
	}
	var doc struct {
		Restocked map[string]any `bson:"restocked"`
	}
	if err := s.Products().FindOne(t.Context(), bson.D{{Key: "_id", Value: mug}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Restocked[done]; ok {
		t.Errorf("the done return's marker was kept")
	}
	if _, ok := doc.Restocked[pending]; !ok {
		t.Errorf("the unfinished return's marker was pruned")
	}
}

// An order id is 1 to 64 letters, digits, '-' or '_': anything else could
// turn a dotted path into an operator or a sub-path.
func TestOrderIDs(t *testing.T) {
	s := newStore(t)
	for id, ok := range map[string]bool{
		strings.Repeat("a", 64): true, "A-b_9": true,
		"": false, strings.Repeat("a", 65): false, "a.b": false, "$set": false, "a b": false,
	} {
		_, err := s.CancelOrder(t.Context(), id)
		if ok && err != nil {
			t.Errorf("CancelOrder(%q): %v", id, err)
		}
		if !ok && !errors.Is(err, catalog.ErrInvalidID) {
			t.Errorf("CancelOrder(%q) = %v, want ErrInvalidID", id, err)
		}
	}
}

// A start that finds the schema of this version in place (the migrations
// record says so) does not look at every collection's indexes again; a
// record of another version makes it put the schema in place again.
func TestOpenChecksTheSchemaOnce(t *testing.T) {
	s := newStore(t)
	db := s.Products().Database()
	lists := func() int {
		t.Helper()
		// Any outcome: on a collection not made yet the server answers an error.
		return int(storetest.MetricValue(storetest.Metrics(t, metrics.Handler()), "knshop_mongodb_command_duration_seconds",
			map[string]string{"database": db.Name(), "command": "listIndexes"}))
	}
	first := lists()
	if first == 0 {
		t.Fatal("the first Open did not look at the indexes")
	}
	if _, err := catalog.New(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	if again := lists(); again != first {
		t.Fatalf("a second Open listed indexes %d times; the schema was in place", again-first)
	}
	holds := db.Collection(catalog.HoldsCollection)
	if _, err := holds.UpdateOne(t.Context(), bson.D{{Key: "_id", Value: "#migrations"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "schema", Value: "0/indexes:false"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.New(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	if after := lists(); after == first {
		t.Fatal("an Open that found another schema version did not look at the indexes")
	}
	var rec struct {
		Schema string   `bson:"schema"`
		Ran    []string `bson:"ran"`
	}
	if err := holds.FindOne(t.Context(), bson.D{{Key: "_id", Value: "#migrations"}}).Decode(&rec); err != nil {
		t.Fatal(err)
	}
	if rec.Schema == "0/indexes:false" || len(rec.Ran) != 1 {
		t.Fatalf("migrations record %+v: want the current schema, and each migration named once", rec)
	}
}
