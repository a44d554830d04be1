package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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
	// tokens are the reservations a reserved decision counted, by product
	// (none for a decision written before tokens: any reservation counts).
	tokens map[string]string
	// sold: the order's stock was sold (its end fact).
	sold bool
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
// by the next one, and a late duplicate that reserves after the order's
// stock was sold or given back gives its units back (reserveAll).
func (s *Store) ReserveOrder(ctx context.Context, orderID string, items []Item) (Hold, error) {
	if err := checkOrderID(orderID); err != nil {
		return Hold{}, fmt.Errorf("catalog: reserve order: %w", err)
	}
	items, err := merge(items)
	if err != nil {
		return Hold{}, fmt.Errorf("catalog: reserve order %s: %w", orderID, err)
	}
	h, err := s.beginHold(ctx, orderID, items)
	if err != nil {
		return Hold{}, err
	}
	if h.Status == StatusPending {
		return s.reserveAll(ctx, h)
	}
	return h, s.tidy(ctx, h, anyToken)
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
// status, shortages and the reservations' tokens) and the end (order id +
// endSuffix: sold or cancelled, whichever came first). Versions before the
// end fact wrote a cancellation as order id + cancelSuffix; Open turns
// those into end facts once (migrateCancellations). The embedded FerretDB
// v1 looks a document up by an index only when the filter is exactly
// {_id}; any other condition scans the whole collection, and this one
// grows by an order at a time. So no conditional
// update here: inserts and reads by _id only (docs/benchmarks.md has the
// measurements).
const (
	decisionSuffix = "#decision"
	endSuffix      = "#end"
	cancelSuffix   = "#cancelled"
)

// statusSold is the end fact of an order whose stock was sold.
const statusSold Status = "sold"

// fact is a decision or an end.
type fact struct {
	ID        string            `bson:"_id"`
	Status    Status            `bson:"status"`
	Shortages []Shortage        `bson:"shortages"`
	Tokens    map[string]string `bson:"tokens,omitempty"`
	At        time.Time         `bson:"at"`
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
	if h.Status == StatusPending { // else decided before decisions were facts of their own
		d, decided, err := s.fact(ctx, orderID+decisionSuffix)
		if err != nil {
			return Hold{}, err
		}
		if decided {
			h.Status, h.Shortages, h.UpdatedAt, h.tokens = d.Status, d.Shortages, d.At, d.Tokens
		}
	}
	if h, err = s.endedHold(ctx, h); err != nil {
		return Hold{}, err
	}
	if !found && h.Status != StatusCancelled {
		return Hold{}, fmt.Errorf("catalog: hold %s: %w", orderID, ErrNotFound)
	}
	return h, nil
}

// endedHold returns h with its end fact applied: cancelled, or marked sold.
func (s *Store) endedHold(ctx context.Context, h Hold) (Hold, error) {
	end, ended, err := s.fact(ctx, h.OrderID+endSuffix)
	if err != nil {
		return Hold{}, err
	}
	if ended && end.Status == StatusCancelled {
		h.Status, h.UpdatedAt = StatusCancelled, end.At
	}
	h.sold = ended && end.Status == statusSold
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

// insertOnce inserts a fact and reports whether this call did; a fact
// already there wins (no error).
func (s *Store) insertOnce(ctx context.Context, f fact) (bool, error) {
	if f.Shortages == nil {
		f.Shortages = []Shortage{}
	}
	_, err := s.holds.InsertOne(ctx, f)
	if mongostore.IsDuplicateKey(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("catalog: hold fact %s: %w", f.ID, err)
	}
	return true, nil
}

// migrationsID is the holds document that records which one-time
// migrations of the collection ran.
const migrationsID = "#migrations"

// migrateCancellations turns the cancellation facts of versions before the
// end fact (order id + cancelSuffix) into end facts, once per database: the
// scan it needs runs only while the migrations record (ran: the names of
// those that ran) lacks it.
func (s *Store) migrateCancellations(ctx context.Context, ran []string) error {
	const name = "cancellations-to-end"
	if slices.Contains(ran, name) {
		return nil
	}
	cur, err := s.holds.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$regex", Value: cancelSuffix + "$"}}}})
	if err != nil {
		return fmt.Errorf("catalog: migrate cancellations: %w", err)
	}
	var old []fact
	if err := cur.All(ctx, &old); err != nil {
		return fmt.Errorf("catalog: migrate cancellations: %w", err)
	}
	for _, f := range old {
		order := strings.TrimSuffix(f.ID, cancelSuffix)
		if _, err := s.insertOnce(ctx, fact{ID: order + endSuffix, Status: StatusCancelled, At: f.At}); err != nil {
			return err
		}
	}
	return s.noteMigrations(ctx, bson.D{{Key: "$addToSet", Value: bson.D{{Key: "ran", Value: name}}}})
}

// noteMigrations applies update to the migrations record, making the
// record if it is not there yet.
func (s *Store) noteMigrations(ctx context.Context, update bson.D) error {
	_, err := s.holds.UpdateOne(ctx, bson.D{{Key: "_id", Value: migrationsID}}, update, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("catalog: migrations: %w", err)
	}
	return nil
}

// reserveAll reserves the items of a pending hold in turn under a token of
// this walk, decides, and leaves the products as the decision says: a
// rejected or cancelled order holds nothing, and a reserved one holds only
// the reservations its decision counted. A walk that finds the order
// already decided without its token reserved after the decision (a late
// duplicate, whose order's stock may be sold or given back by now): tidy
// gives back what it took.
func (s *Store) reserveAll(ctx context.Context, h Hold) (Hold, error) {
	token := newToken()
	decision := StatusReserved
	tokens := map[string]string{}
	var shortages []Shortage
walk:
	for i, it := range h.Items {
		r, err := s.reserve(ctx, h.OrderID, it.ProductID, it.Quantity, token)
		if err != nil {
			return Hold{}, fmt.Errorf("catalog: reserve order %s: %w", h.OrderID, err)
		}
		switch r.outcome {
		case reserved, held:
			tokens[it.ProductID] = r.token
		case short, gone:
			decision = StatusRejected
			shortages = append(shortages, Shortage{ProductID: it.ProductID, Requested: it.Quantity, Available: r.available})
			rest, err := s.shortages(ctx, h.OrderID, h.Items[i+1:])
			if err != nil {
				return Hold{}, err
			}
			shortages = append(shortages, rest...)
			break walk
		}
	}
	if decision != StatusReserved {
		tokens = nil
	}
	now := Now()
	mine, err := s.insertOnce(ctx, fact{ID: h.OrderID + decisionSuffix, Status: decision, Shortages: shortages, Tokens: tokens, At: now})
	if err != nil {
		return Hold{}, err
	}
	var d Hold
	if mine {
		// Only a cancellation can stand over this walk's own decision.
		d = h
		d.Status, d.Shortages, d.UpdatedAt, d.tokens = decision, shortages, now, tokens
		d, err = s.endedHold(ctx, d)
	} else {
		d, err = s.Hold(ctx, h.OrderID)
	}
	if err != nil {
		return Hold{}, err
	}
	if d.Shortages == nil {
		d.Shortages = []Shortage{}
	}
	return d, s.tidy(ctx, d, token)
}

// tidy makes the products agree with a decided hold. A reservation its
// decision counted is committed (it leaves the product; the decision keeps
// it), any other reservation of the order is given back (a late walk's, or
// every one of a rejected order), and a cancelled order's committed units
// go back to stock (releaseAll, which also finishes a give-back a crash
// interrupted). mine is the token of the walk that just ran (anyToken: none
// ran, as for a duplicate delivery, which then looks at every product).
func (s *Store) tidy(ctx context.Context, h Hold, mine string) error {
	switch h.Status {
	case StatusRejected, StatusCancelled:
		_, err := s.releaseAll(ctx, h)
		return err
	case StatusReserved:
		if h.tokens == nil {
			return nil // decided before tokens: reservations stay until sold or given back
		}
		for _, it := range h.Items {
			counted := h.tokens[it.ProductID]
			var err error
			if mine != anyToken && counted == mine {
				err = s.commit(ctx, h.OrderID, it.ProductID, mine)
			} else {
				_, err = s.tidyEntry(ctx, h.OrderID, it.ProductID, counted)
			}
			if err != nil {
				return fmt.Errorf("catalog: reserve order %s: %w", h.OrderID, err)
			}
		}
	}
	return nil
}

// tidyEntry looks at the order's reservation of productID, if any: the
// counted one is committed, any other is given back (a late walk's); it
// returns the units given back.
func (s *Store) tidyEntry(ctx context.Context, orderID, productID, counted string) (int64, error) {
	c, ok, err := s.readClaim(ctx, orderID, productID)
	if err != nil {
		return 0, err
	}
	e, held := c.Reservations[orderID]
	switch {
	case !ok || !held:
		return 0, nil
	case counted != "" && e.Token == counted:
		return 0, s.commit(ctx, orderID, productID, counted)
	default:
		return s.finishKnown(ctx, orderID, productID, e, "stock")
	}
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

// releaseAll gives back whatever the hold's order still holds: every
// reservation its decision did not count (through the reservation itself),
// and the committed units of those it did (finishCommitted, once).
func (s *Store) releaseAll(ctx context.Context, h Hold) (int64, error) {
	var total int64
	for _, it := range h.Items {
		counted := h.tokens[it.ProductID]
		n, err := s.tidyEntry(ctx, h.OrderID, it.ProductID, counted)
		if err == nil && counted != "" {
			var m int64
			m, err = s.finishCommitted(ctx, h.OrderID, it.ProductID, it.Quantity, "stock")
			n += m
		}
		total += n
		if err != nil {
			return total, fmt.Errorf("catalog: release order %s: %w", h.OrderID, err)
		}
	}
	return total, nil
}

// end records how the order's stock ends (sold or cancelled) unless it
// already ended, and returns the end that stands.
func (s *Store) end(ctx context.Context, orderID string, status Status) (Status, error) {
	mine, err := s.insertOnce(ctx, fact{ID: orderID + endSuffix, Status: status, At: Now()})
	if err != nil || mine {
		return status, err
	}
	f, _, err := s.fact(ctx, orderID+endSuffix)
	return f.Status, err
}

// CancelOrder gives back, once, everything orderID holds, and makes sure it
// can never reserve anything later (a cancellation that overtakes its
// ORDER_PLACED leaves a cancelled hold behind). It returns the units given
// back by this call; an order that held nothing, or whose stock was sold,
// gives back 0.
func (s *Store) CancelOrder(ctx context.Context, orderID string) (int64, error) {
	if err := checkOrderID(orderID); err != nil {
		return 0, fmt.Errorf("catalog: cancel order: %w", err)
	}
	// Undecided, the cancellation is the decision: no walk can decide
	// after it and count a reservation.
	if _, err := s.insertOnce(ctx, fact{ID: orderID + decisionSuffix, Status: StatusCancelled, At: Now()}); err != nil {
		return 0, err
	}
	ended, err := s.end(ctx, orderID, StatusCancelled)
	if err != nil {
		return 0, err
	}
	if ended == statusSold {
		return 0, nil
	}
	return s.giveBack(ctx, orderID)
}

// giveBack releases every item of a cancelled order's request, if it came.
func (s *Store) giveBack(ctx context.Context, orderID string) (int64, error) {
	h, err := s.Hold(ctx, orderID)
	if err != nil {
		return 0, err
	}
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
	if !h.sold {
		ended, err := s.end(ctx, orderID, statusSold)
		if err != nil {
			return 0, err
		}
		if ended == StatusCancelled {
			return 0, fmt.Errorf("catalog: settle order %s (cancelled): %w", orderID, ErrReleased)
		}
	}
	var total int64
	for _, it := range h.Items {
		var n int64
		var err error
		if h.tokens == nil { // decided before tokens: the reservation is still on the product
			n, err = s.finish(ctx, orderID, it.ProductID, anyToken, "sold")
		} else {
			n, err = s.finishCommitted(ctx, orderID, it.ProductID, it.Quantity, "sold")
		}
		if err != nil {
			return total, fmt.Errorf("catalog: settle order %s: %w", orderID, err)
		}
		total += n
	}
	return total, nil
}
