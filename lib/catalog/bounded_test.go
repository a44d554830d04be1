package catalog_test

import (
	"errors"
	"os"
	"strconv"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/ids"
)

// docSize is the size in bytes of the product's whole document.
func docSize(t testing.TB, s *catalog.Store, id string) int {
	t.Helper()
	raw, err := s.Products().FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	return len(raw)
}

// soldUnits is how many units TestProductDocumentStaysSmall sells:
// KNSHOP_SOLD_UNITS (make bench: 20,000), else 1,200.
func soldUnits(t testing.TB) int {
	if v := os.Getenv("KNSHOP_SOLD_UNITS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return 1_200
}

// A best seller's document does not grow with its sales: one-unit orders on
// one product (every tenth cancelled) leave it no larger than during the
// first 200 orders, while the counters stay exact. Only reservations in
// flight and at most PruneAbove finish markers live in the product.
func TestProductDocumentStaysSmall(t *testing.T) {
	s := newStore(t)
	units := soldUnits(t)
	p := addProduct(t, s, int64(units))
	var early, later int
	sold := 0
	for i := range units {
		order := ids.New()
		h, err := s.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: p, Quantity: 1}})
		if err != nil || h.Status != catalog.StatusReserved {
			t.Fatalf("order %d: %+v, %v", i, h, err)
		}
		if i%10 == 9 {
			if _, err := s.CancelOrder(t.Context(), order); err != nil {
				t.Fatal(err)
			}
		} else {
			if _, err := s.SettleOrder(t.Context(), order); err != nil {
				t.Fatal(err)
			}
			sold++
		}
		if size := docSize(t, s, p); i < 200 {
			early = max(early, size)
		} else {
			later = max(later, size)
		}
	}
	stock, reserved, gotSold := counters(t, s, p)
	if gotSold != int64(sold) || reserved != 0 || stock != int64(units-sold) {
		t.Fatalf("counters stock %d reserved %d sold %d; want %d, 0, %d", stock, reserved, gotSold, units-sold, sold)
	}
	t.Logf("document: at most %d bytes over the first 200 orders, at most %d bytes after, up to %d", early, later, units)
	if later > early+16 {
		t.Fatalf("the document grew with sales: at most %d bytes over the first 200 orders, %d later", early, later)
	}
}

// A late duplicate of ORDER_PLACED changes nothing once the order's stock
// was sold or given back: neither a new delivery (which reads the decided
// hold) nor a walk that read the hold as pending before the order was
// decided (the race the products' old released and settled markers closed).
func TestLateDuplicateAfterTheEnd(t *testing.T) {
	for _, end := range []string{"settled", "cancelled"} {
		t.Run(end, func(t *testing.T) {
			s := newStore(t)
			p := addProduct(t, s, 10)
			order := ids.New()
			stale, err := catalog.BeginHold(s, t.Context(), order, []catalog.Item{{ProductID: p, Quantity: 2}})
			if err != nil || stale.Status != catalog.StatusPending {
				t.Fatalf("begin: %+v, %v", stale, err)
			}
			if h, err := s.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: p, Quantity: 2}}); err != nil || h.Status != catalog.StatusReserved {
				t.Fatalf("reserve: %+v, %v", h, err)
			}
			wantStock, wantSold := int64(8), int64(2)
			if end == "settled" {
				if n, err := s.SettleOrder(t.Context(), order); err != nil || n != 2 {
					t.Fatalf("settle: %d, %v", n, err)
				}
			} else {
				if n, err := s.CancelOrder(t.Context(), order); err != nil || n != 2 {
					t.Fatalf("cancel: %d, %v", n, err)
				}
				wantStock, wantSold = 10, 0
			}
			h, err := catalog.ReserveAll(s, t.Context(), stale)
			if err != nil || h.Status == catalog.StatusPending {
				t.Fatalf("stale walk: %+v, %v", h, err)
			}
			if h, err := s.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: p, Quantity: 2}}); err != nil || h.Status == catalog.StatusPending {
				t.Fatalf("late delivery: %+v, %v", h, err)
			}
			if stock, reserved, sold := counters(t, s, p); stock != wantStock || reserved != 0 || sold != wantSold {
				t.Fatalf("after late duplicates: stock %d reserved %d sold %d; want %d, 0, %d", stock, reserved, sold, wantStock, wantSold)
			}
		})
	}
}

// A walk that reserves late and then crashes before giving back leaves a
// reservation its order's decision does not count: the next delivery finds
// it and gives it back, and a settle never sells it.
func TestUncountedReservationIsGivenBack(t *testing.T) {
	s := newStore(t)
	p, order := soldOrder(t, s)
	reserveStep(t, s, order, p, 3) // the late walk's step; then it crashes
	if n, err := s.SettleOrder(t.Context(), order); err != nil || n != 0 {
		t.Fatalf("second settle sold the uncounted reservation: %d, %v", n, err)
	}
	if _, err := s.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: p, Quantity: 3}}); err != nil {
		t.Fatal(err)
	}
	if stock, reserved, sold := counters(t, s, p); stock != 7 || reserved != 0 || sold != 3 {
		t.Fatalf("stock %d reserved %d sold %d; want 7, 0, 3", stock, reserved, sold)
	}
}

// Deliveries of one order race three settles or three cancellations of it,
// many times over: whatever the interleaving, the order's units are sold (by the
// settle) or given back exactly once and nothing stays reserved.
func TestDuplicatesRaceTheEnd(t *testing.T) {
	s := newStore(t)
	const rounds = 30
	p := addProduct(t, s, 10*rounds)
	var soldWant, stockWant int64 = 0, 10 * rounds
	for i := range rounds {
		order := ids.New()
		items := []catalog.Item{{ProductID: p, Quantity: 2}}
		stale, err := catalog.BeginHold(s, t.Context(), order, items)
		if err != nil {
			t.Fatal(err)
		}
		if h, err := s.ReserveOrder(t.Context(), order, items); err != nil || h.Status != catalog.StatusReserved {
			t.Fatalf("reserve: %+v, %v", h, err)
		}
		var wg sync.WaitGroup
		var settled int64
		var mu sync.Mutex
		for range 3 {
			wg.Go(func() {
				if _, err := s.ReserveOrder(t.Context(), order, items); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() {
				if _, err := catalog.ReserveAll(s, t.Context(), stale); err != nil {
					t.Error(err)
				}
			})
		}
		for range 3 {
			wg.Go(func() {
				n := endOrder(t, s, order, i%2 == 0)
				if i%2 == 0 {
					mu.Lock()
					defer mu.Unlock()
					settled += n
				}
			})
		}
		wg.Wait()
		// Whatever stayed in flight of a late walk is given back by the
		// next delivery.
		if _, err := s.ReserveOrder(t.Context(), order, items); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			soldWant += 2
			stockWant -= 2
			if settled != 2 {
				t.Fatalf("round %d: settle sold %d, want 2", i, settled)
			}
		}
		// A cancel's own count says little here: a concurrent delivery
		// that reads the order as cancelled gives back too, and a cancel
		// also gives back what a stale walk took meanwhile. The counters
		// below are the invariant.
		if stock, reserved, sold := counters(t, s, p); stock != stockWant || reserved != 0 || sold != soldWant {
			t.Fatalf("round %d: stock %d reserved %d sold %d; want %d, 0, %d", i, stock, reserved, sold, stockWant, soldWant)
		}
	}
}

// A cancellation written by a version before the end fact (a hold document
// <order>#cancelled) still bars its order once the store is opened again:
// Open turns it into an end fact, once.
func TestLegacyCancellationIsMigrated(t *testing.T) {
	s := newStore(t)
	p := addProduct(t, s, 5)
	order := ids.New()
	holds := s.Products().Database().Collection(catalog.HoldsCollection)
	if _, err := holds.InsertOne(t.Context(), bson.D{{Key: "_id", Value: order + "#cancelled"},
		{Key: "status", Value: "cancelled"}, {Key: "shortages", Value: bson.A{}}, {Key: "at", Value: catalog.Now()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := holds.DeleteOne(t.Context(), bson.D{{Key: "_id", Value: "#migrations"}}); err != nil {
		t.Fatal(err)
	}
	again, err := catalog.New(t.Context(), s.Products().Database())
	if err != nil {
		t.Fatal(err)
	}
	h, err := again.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: p, Quantity: 2}})
	if err != nil || h.Status != catalog.StatusCancelled {
		t.Fatalf("hold %+v, %v; want cancelled", h, err)
	}
	if stock, reserved, _ := counters(t, s, p); stock != 5 || reserved != 0 {
		t.Fatalf("stock %d reserved %d; want 5, 0", stock, reserved)
	}
}

// Many orders of one hot product end at once, each settled or cancelled by
// two deliveries at the same time, while the finish markers are pruned
// every few orders: every unit is sold or given back exactly once.
func TestConcurrentEndsOnAHotProduct(t *testing.T) {
	s := newStore(t)
	s.SetMarkerRetention(catalog.MarkerRetention, 3)
	const orders = 40
	p := addProduct(t, s, 100)
	var orderIDs []string
	for range orders {
		order := ids.New()
		if h, err := s.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: p, Quantity: 2}}); err != nil || h.Status != catalog.StatusReserved {
			t.Fatalf("reserve: %+v, %v", h, err)
		}
		orderIDs = append(orderIDs, order)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sold, back int64
	for i, order := range orderIDs {
		for range 2 {
			wg.Go(func() {
				n := endOrder(t, s, order, i%2 == 0)
				mu.Lock()
				defer mu.Unlock()
				if i%2 == 0 {
					sold += n
				} else {
					back += n
				}
			})
		}
	}
	wg.Wait()
	if sold != orders || back != orders {
		t.Fatalf("the calls sold %d and gave back %d units, want %d each", sold, back, orders)
	}
	if stock, reserved, gotSold := counters(t, s, p); stock != 100-orders || reserved != 0 || gotSold != orders {
		t.Fatalf("stock %d reserved %d sold %d; want %d, 0, %d", stock, reserved, gotSold, 100-orders, orders)
	}
}

// A settle interrupted between moving the units and writing its fact (the
// product carries the marker, the fact is missing) is finished by the next
// one, which moves nothing again.
func TestSettleInterruptedAfterTheMove(t *testing.T) {
	s := newStore(t)
	p, order := soldOrder(t, s)
	holds := s.Products().Database().Collection(catalog.HoldsCollection)
	if _, err := holds.DeleteOne(t.Context(), bson.D{{Key: "_id", Value: order + "#fin#" + p}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SettleOrder(t.Context(), order); err != nil || n != 0 {
		t.Fatalf("second settle: %d, %v; want 0", n, err)
	}
	if n, err := holds.CountDocuments(t.Context(), bson.D{{Key: "_id", Value: order + "#fin#" + p}}); err != nil || n != 1 {
		t.Fatalf("the fact was not written again: %d, %v", n, err)
	}
	if stock, reserved, sold := counters(t, s, p); stock != 7 || reserved != 0 || sold != 3 {
		t.Fatalf("stock %d reserved %d sold %d; want 7, 0, 3", stock, reserved, sold)
	}
}

// endOrder settles (sell) or cancels the order, again while the product
// keeps changing under it (retried), and returns the units this call moved.
func endOrder(t *testing.T, s *catalog.Store, order string, sell bool) int64 {
	end := s.CancelOrder
	if sell {
		end = s.SettleOrder
	}
	n, err := retried(func() (int64, error) { return end(t.Context(), order) })
	if err != nil {
		t.Error(err)
	}
	return n
}

// retried calls f again while it fails with ErrConflict (the product kept
// changing under it), as the Broker redelivers a retryable failure; each
// call's units add up.
func retried(f func() (int64, error)) (int64, error) {
	var total int64
	for range 20 {
		n, err := f()
		total += n
		if !errors.Is(err, catalog.ErrConflict) {
			return total, err
		}
	}
	return total, catalog.ErrConflict
}

// A walk that crashes between its decision and its commit leaves the
// counted reservation on the product: the settle sells the units once all
// the same, and the next delivery commits the reservation without moving
// anything.
func TestCrashBeforeTheCommit(t *testing.T) {
	s := newStore(t)
	p := addProduct(t, s, 10)
	order := ids.New()
	items := []catalog.Item{{ProductID: p, Quantity: 3}}
	if h, err := s.ReserveOrder(t.Context(), order, items); err != nil || h.Status != catalog.StatusReserved {
		t.Fatalf("reserve: %+v, %v", h, err)
	}
	var decision struct {
		Tokens map[string]string `bson:"tokens"`
	}
	holds := s.Products().Database().Collection(catalog.HoldsCollection)
	if err := holds.FindOne(t.Context(), bson.D{{Key: "_id", Value: order + "#decision"}}).Decode(&decision); err != nil {
		t.Fatal(err)
	}
	// As if the commit never ran: the counted reservation is still there.
	if _, err := s.Products().UpdateOne(t.Context(), bson.D{{Key: "_id", Value: p}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "reservations." + order, Value: bson.D{{Key: "qty", Value: int64(3)}, {Key: "t", Value: decision.Tokens[p]}}}}}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SettleOrder(t.Context(), order); err != nil || n != 3 {
		t.Fatalf("settle: %d, %v", n, err)
	}
	if _, err := s.ReserveOrder(t.Context(), order, items); err != nil {
		t.Fatal(err)
	}
	if stock, reserved, sold := counters(t, s, p); stock != 7 || reserved != 0 || sold != 3 {
		t.Fatalf("stock %d reserved %d sold %d; want 7, 0, 3", stock, reserved, sold)
	}
	var doc struct {
		Reservations map[string]any `bson:"reservations"`
	}
	if err := s.Products().FindOne(t.Context(), bson.D{{Key: "_id", Value: p}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Reservations) != 0 {
		t.Fatalf("the reservation stayed on the product: %v", doc.Reservations)
	}
}

// soldOrder adds a product of 10 units and an order that reserved 3 of them
// and was settled.
func soldOrder(t *testing.T, s *catalog.Store) (product, order string) {
	t.Helper()
	product, order = addProduct(t, s, 10), ids.New()
	if h, err := s.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: product, Quantity: 3}}); err != nil || h.Status != catalog.StatusReserved {
		t.Fatalf("reserve: %+v, %v", h, err)
	}
	if n, err := s.SettleOrder(t.Context(), order); err != nil || n != 3 {
		t.Fatalf("settle: %d, %v", n, err)
	}
	return product, order
}

// A finish that finds a prune of its product running in the process leaves
// the pruning to it (under load every finish past the threshold started its
// own, each reading a fact per marker); once none runs, the next finish
// prunes.
func TestOnePruneAtATime(t *testing.T) {
	s := newStore(t)
	s.SetMarkerRetention(catalog.MarkerRetention, 2)
	p := addProduct(t, s, 100)
	sellOne := func() {
		t.Helper()
		order := ids.New()
		if h, err := s.ReserveOrder(t.Context(), order, []catalog.Item{{ProductID: p, Quantity: 1}}); err != nil || h.Status != catalog.StatusReserved {
			t.Fatalf("reserve: %+v, %v", h, err)
		}
		if n := endOrder(t, s, order, true); n != 1 {
			t.Fatalf("settle sold %d units, want 1", n)
		}
	}
	markers := func() int64 {
		t.Helper()
		var doc struct {
			Markers int64  `bson:"markers"`
			Fin     bson.M `bson:"fin"`
		}
		if err := s.Products().FindOne(t.Context(), bson.D{{Key: "_id", Value: p}}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if int64(len(doc.Fin)) != doc.Markers {
			t.Fatalf("the product counts %d markers and holds %d", doc.Markers, len(doc.Fin))
		}
		return doc.Markers
	}
	release := s.HoldPruning(p)
	for range 5 {
		sellOne()
	}
	if n := markers(); n != 5 {
		t.Fatalf("%d markers while a prune ran elsewhere, want all 5 kept for it", n)
	}
	release()
	sellOne()
	if n := markers(); n > 2 {
		t.Fatalf("%d markers after a finish with no prune running, want them pruned to at most 2", n)
	}
	if stock, reserved, sold := counters(t, s, p); stock != 94 || reserved != 0 || sold != 6 {
		t.Fatalf("stock %d reserved %d sold %d; want 94, 0, 6", stock, reserved, sold)
	}
}
