package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/knshop/knshop/lib/mongostore"
)

// Status is where an order's hold on stock stands.
type Status string

// Hold statuses. Pending moves to exactly one of the others, decided by one
// conditional update, so every delivery of an order agrees on it; a
// reserved or rejected hold may still become cancelled.
const (
	StatusPending   Status = "pending"
	StatusReserved  Status = "reserved"
	StatusRejected  Status = "rejected"
	StatusCancelled Status = "cancelled"
	// StatusRestocked is not a hold's: it is the fact that a return's
	// units are back in stock (RestockReturn).
	StatusRestocked Status = "restocked"
)

// Item is a product and a quantity of it.
type Item struct {
	ProductID string `bson:"productId"`
	Quantity  int64  `bson:"quantity"`
}

// Shortage is an item that could not be reserved in full.
type Shortage struct {
	ProductID string `bson:"productId"`
	Requested int64  `bson:"requested"`
	Available int64  `bson:"available"`
}

// Hold is one order's claim on stock: what it asked for and the decision.
type Hold struct {
	OrderID   string     `bson:"_id"`
	Status    Status     `bson:"status"`
	Items     []Item     `bson:"items"`
	Shortages []Shortage `bson:"shortages"`
	CreatedAt time.Time  `bson:"createdAt"`
	UpdatedAt time.Time  `bson:"updatedAt"`
}

// ReserveOrder reserves every item for orderID, all or nothing, and returns
// the order's hold:
//   - reserved: every item is held for the order;
//   - rejected: some item was short (Shortages lists every one known) and
//     whatever had been taken is given back;
//   - cancelled: the order was cancelled first; nothing stays held.
//
// It is idempotent and safe to run concurrently for one order: the first
// call records the items, each product records the reservation under the
// order id (a duplicate finds it held and counts it as its own), and the
// decision is taken once. A call interrupted midway is completed or undone
// by the next one.
func (s *Store) ReserveOrder(ctx context.Context, orderID string, items []Item) (Hold, error) {
	if err := checkOrderID(orderID); err != nil {
		return Hold{}, fmt.Errorf("catalog: reserve order: %w", err)
	}
	items, err := merge(items)
	if err != nil {
		return Hold{}, fmt.Errorf("catalog: reserve order %s: %w", orderID, err)
	}
	read := time.Now()
	h, err := s.beginHold(ctx, orderID, items)
	if err != nil {
		return Hold{}, err
	}
	if h.Status == StatusPending {
		if h, err = s.reserveAll(ctx, h, read); err != nil {
			return Hold{}, err
		}
	}
	if h.Status == StatusRejected || h.Status == StatusCancelled {
		// Also finishes a give-back that a crash interrupted.
		if _, err := s.releaseAll(ctx, h); err != nil {
			return Hold{}, err
		}
	}
	return h, nil
}

// merge adds up the quantities of repeated products and sorts by product,
// so every delivery walks the products in the same order.
func merge(items []Item) ([]Item, error) {
	if len(items) == 0 {
		return nil, errors.New("no items")
	}
	sum := map[string]int64{}
	for _, it := range items {
		if it.Quantity < 1 || it.ProductID == "" {
			return nil, fmt.Errorf("item %q quantity %d", it.ProductID, it.Quantity)
		}
		sum[it.ProductID] += it.Quantity
	}
	out := make([]Item, 0, len(sum))
	for id, q := range sum {
		out = append(out, Item{ProductID: id, Quantity: q})
	}
	slices.SortFunc(out, func(a, b Item) int { return cmp.Compare(a.ProductID, b.ProductID) })
	return out, nil
}

// beginHold records a pending hold for the order, or returns the one a
// previous delivery recorded (whose items win).
func (s *Store) beginHold(ctx context.Context, orderID string, items []Item) (Hold, error) {
	now := Now()
	h := Hold{OrderID: orderID, Status: StatusPending, Items: items, Shortages: []Shortage{}, CreatedAt: now, UpdatedAt: now}
	_, err := s.holds.InsertOne(ctx, h)
	if err == nil {
		return h, nil
	}
	if !mongostore.IsDuplicateKey(err) {
		return Hold{}, fmt.Errorf("catalog: begin hold %s: %w", orderID, err)
	}
	return s.Hold(ctx, orderID)
}

// The facts of a hold, each a document of the holds collection written
// once by an insert (the unique _id decides a race) and read by _id: the
// request (_id = order id: items), the decision (order id + decisionSuffix:
// status and shortages) and the cancellation (order id + cancelSuffix).
// The embedded FerretDB v1 looks a document up by an index only when the
// filter is exactly {_id}; any other condition scans the whole collection,
// and this one grows by an order at a time. So no conditional update here:
// inserts and reads by _id only (docs/benchmarks.md has the measurements).
const (
	decisionSuffix = "#decision"
	cancelSuffix   = "#cancelled"
)

// fact is a decision or a cancellation.
type fact struct {
	ID        string     `bson:"_id"`
	Status    Status     `bson:"status"`
	Shortages []Shortage `bson:"shortages"`
	At        time.Time  `bson:"at"`
}

// Hold returns the order's hold, or ErrNotFound: its request with the status
// its facts give (a cancellation wins over a decision; neither is pending).
func (s *Store) Hold(ctx context.Context, orderID string) (Hold, error) {
	var h Hold
	err := s.holds.FindOne(ctx, bson.D{{Key: "_id", Value: orderID}}).Decode(&h)
	found := err == nil
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return Hold{}, fmt.Errorf("catalog: hold %s: %w", orderID, err)
	}
	if !found {
		h = Hold{OrderID: orderID, Status: StatusPending, Items: []Item{}, Shortages: []Shortage{}}
	}
	cancel, cancelled, err := s.fact(ctx, orderID+cancelSuffix)
	if err != nil {
		return Hold{}, err
	}
	if cancelled {
		h.Status, h.UpdatedAt = StatusCancelled, cancel.At
		return h, nil
	}
	if !found {
		return Hold{}, fmt.Errorf("catalog: hold %s: %w", orderID, ErrNotFound)
	}
	if h.Status != StatusPending {
		return h, nil // decided before decisions were facts of their own
	}
	d, decided, err := s.fact(ctx, orderID+decisionSuffix)
	if err != nil {
		return Hold{}, err
	}
	if decided {
		h.Status, h.Shortages, h.UpdatedAt = d.Status, d.Shortages, d.At
	}
	return h, nil
}

// fact reads one fact document by id.
func (s *Store) fact(ctx context.Context, id string) (fact, bool, error) {
	var f fact
	err := s.holds.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&f)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return fact{}, false, nil
	}
	if err != nil {
		return fact{}, false, fmt.Errorf("catalog: hold fact %s: %w", id, err)
	}
	return f, true, nil
}

// insertOnce inserts a fact; a fact already there wins (no error).
func (s *Store) insertOnce(ctx context.Context, f fact) error {
	if f.Shortages == nil {
		f.Shortages = []Shortage{}
	}
	_, err := s.holds.InsertOne(ctx, f)
	if err != nil && !mongostore.IsDuplicateKey(err) {
		return fmt.Errorf("catalog: hold fact %s: %w", f.ID, err)
	}
	return nil
}

// reserveAll reserves the items of a pending hold in turn and decides. The
// hold was read as pending at read; a walk that has taken longer than half
// the marker retention stops (a retryable ErrConflict) so that it can never
// reserve for an order whose markers were pruned meanwhile.
func (s *Store) reserveAll(ctx context.Context, h Hold, read time.Time) (Hold, error) {
	decision := StatusReserved
	var shortages []Shortage
walk:
	for i, it := range h.Items {
		if time.Since(read) > s.retention/2 {
			return Hold{}, fmt.Errorf("catalog: reserve order %s: the hold was read too long ago: %w", h.OrderID, ErrConflict)
		}
		r, err := s.Reserve(ctx, h.OrderID, it.ProductID, it.Quantity)
		if err != nil {
			return Hold{}, fmt.Errorf("catalog: reserve order %s: %w", h.OrderID, err)
		}
		switch r.Outcome {
		case Reserved, Held:
		case Short, Gone:
			decision = StatusRejected
			shortages = append(shortages, Shortage{ProductID: it.ProductID, Requested: it.Quantity, Available: r.Available})
			rest, err := s.shortages(ctx, h.OrderID, h.Items[i+1:])
			if err != nil {
				return Hold{}, err
			}
			shortages = append(shortages, rest...)
			break walk
		case Revoked:
			// Only a decided hold gives stock back; the decision says what.
			decision = StatusCancelled
			break walk
		}
	}
	return s.decide(ctx, h.OrderID, decision, shortages)
}

// shortages reports which of items the stock cannot cover now, without
// reserving them, so a rejection names every shortage it can see.
func (s *Store) shortages(ctx context.Context, orderID string, items []Item) ([]Shortage, error) {
	var out []Shortage
	for _, it := range items {
		c, ok, err := s.readClaim(ctx, orderID, it.ProductID)
		if err != nil {
			return nil, fmt.Errorf("catalog: shortages of %s: %w", orderID, err)
		}
		switch {
		case !ok || c.DeletedAt != nil:
			out = append(out, Shortage{ProductID: it.ProductID, Requested: it.Quantity})
		case c.Stock < it.Quantity:
			out = append(out, Shortage{ProductID: it.ProductID, Requested: it.Quantity, Available: max(c.Stock, 0)})
		}
	}
	return out, nil
}

// decide records the pending hold's decision; if another delivery decided
// first, its decision stands, and a cancellation stands over both. It
// returns the hold as it now is.
func (s *Store) decide(ctx context.Context, orderID string, status Status, shortages []Shortage) (Hold, error) {
	if err := s.insertOnce(ctx, fact{ID: orderID + decisionSuffix, Status: status, Shortages: shortages, At: Now()}); err != nil {
		return Hold{}, err
	}
	return s.Hold(ctx, orderID)
}

// releaseAll gives back whatever the hold's order still holds.
func (s *Store) releaseAll(ctx context.Context, h Hold) (int64, error) {
	var total int64
	for _, it := range h.Items {
		n, err := s.Release(ctx, h.OrderID, it.ProductID)
		if err != nil {
			return total, fmt.Errorf("catalog: release order %s: %w", h.OrderID, err)
		}
		total += n
	}
	return total, nil
}

// CancelOrder gives back, once, everything orderID holds, and makes sure it
// can never reserve anything later (a cancellation that overtakes its
// ORDER_PLACED leaves a cancelled hold behind). It returns the units given
// back by this call; an order that held nothing gives back 0.
func (s *Store) CancelOrder(ctx context.Context, orderID string) (int64, error) {
	if err := checkOrderID(orderID); err != nil {
		return 0, fmt.Errorf("catalog: cancel order: %w", err)
	}
	if err := s.insertOnce(ctx, fact{ID: orderID + cancelSuffix, Status: StatusCancelled, At: Now()}); err != nil {
		return 0, err
	}
	h, err := s.Hold(ctx, orderID)
	if err != nil {
		return 0, err
	}
	// The items of the request, if it came: every product is released (or
	// marked released, so an in-flight reservation of the order fails).
	return s.releaseAll(ctx, h)
}

// SettleOrder turns everything orderID holds into sales, once (for
// complete-order on DELIVERY_COMPLETED). It returns the units settled by
// this call: 0 when a previous call did it. It fails with ErrNotReserved
// when the order never reserved stock and ErrReleased when its stock was
// given back (rejected or cancelled).
func (s *Store) SettleOrder(ctx context.Context, orderID string) (int64, error) {
	if err := checkOrderID(orderID); err != nil {
		return 0, fmt.Errorf("catalog: settle order: %w", err)
	}
	h, err := s.Hold(ctx, orderID)
	if errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("catalog: settle order %s: %w", orderID, ErrNotReserved)
	}
	if err != nil {
		return 0, err
	}
	switch h.Status {
	case StatusReserved:
	case StatusPending:
		return 0, fmt.Errorf("catalog: settle order %s: %w", orderID, ErrNotReserved)
	default:
		return 0, fmt.Errorf("catalog: settle order %s (%s): %w", orderID, h.Status, ErrReleased)
	}
	var total int64
	for _, it := range h.Items {
		n, err := s.Settle(ctx, orderID, it.ProductID)
		if err != nil {
			return total, fmt.Errorf("catalog: settle order %s: %w", orderID, err)
		}
		total += n
	}
	return total, nil
}
