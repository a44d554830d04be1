package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ReserveOutcome is what one Reserve found.
type ReserveOutcome int

// Outcomes of Reserve.
const (
	// Reserved: this call took the units.
	Reserved ReserveOutcome = iota + 1
	// Held: the order already holds (or bought) this product: a duplicate.
	Held
	// Short: not enough stock; Available says how much there is.
	Short
	// Gone: no such product, or it was deleted.
	Gone
	// Revoked: the order's claim on this product was released before; it
	// can never reserve it again.
	Revoked
)

func (o ReserveOutcome) String() string {
	switch o {
	case Reserved:
		return "reserved"
	case Held:
		return "held"
	case Short:
		return "short"
	case Gone:
		return "gone"
	case Revoked:
		return "revoked"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Reservation is the result of Reserve.
type Reservation struct {
	Outcome   ReserveOutcome
	Quantity  int64 // units held for the order (Reserved, Held)
	Available int64 // stock seen (Short; 0 for Gone)
}

// claim is what the per-order maps of one product hold for one order.
type claim struct {
	Stock        int64      `bson:"stock"`
	DeletedAt    *time.Time `bson:"deletedAt"`
	Reservations map[string]struct {
		Qty int64     `bson:"qty"`
		At  time.Time `bson:"at"`
	} `bson:"reservations"`
	Released map[string]marker `bson:"released"`
	Settled  map[string]marker `bson:"settled"`
	Markers  int64             `bson:"markers"`
}

// marker is a released or settled entry: the units and when. Documents
// written before markers carried a time hold a bare quantity; such a
// marker reads with a zero time (old, so pruned first).
type marker struct {
	Q  int64
	At time.Time
}

func (m *marker) UnmarshalBSONValue(t byte, data []byte) error {
	rv := bson.RawValue{Type: bson.Type(t), Value: data}
	if n, ok := rv.AsInt64OK(); ok {
		*m = marker{Q: n}
		return nil
	}
	var doc struct {
		Q  int64     `bson:"q"`
		At time.Time `bson:"at"`
	}
	if err := rv.Unmarshal(&doc); err != nil {
		return err
	}
	*m = marker{Q: doc.Q, At: doc.At}
	return nil
}

func newMarker(q int64) bson.D { return bson.D{{Key: "q", Value: q}, {Key: "at", Value: Now()}} }

// readClaim reads product productID's stock and the order's entries.
func (s *Store) readClaim(ctx context.Context, orderID, productID string) (claim, bool, error) {
	proj := bson.D{
		{Key: "stock", Value: 1}, {Key: "deletedAt", Value: 1}, {Key: "markers", Value: 1},
		{Key: "reservations." + orderID, Value: 1},
		{Key: "released." + orderID, Value: 1},
		{Key: "settled." + orderID, Value: 1},
	}
	var c claim
	err := s.products.FindOne(ctx, bson.D{{Key: "_id", Value: productID}}, options.FindOne().SetProjection(proj)).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return claim{}, false, nil
	}
	if err != nil {
		return claim{}, false, fmt.Errorf("read %s: %w", productID, err)
	}
	return c, true, nil
}

func absent(path string) bson.E {
	return bson.E{Key: path, Value: bson.D{{Key: "$exists", Value: false}}}
}

// Reserve takes qty units of productID for orderID with one conditional
// update: only if the product is live, has the stock, and the order has
// neither a reservation on it nor one that was released or settled. When the
// update misses, it reads the product to say why.
func (s *Store) Reserve(ctx context.Context, orderID, productID string, qty int64) (Reservation, error) {
	if err := checkOrderID(orderID); err != nil {
		return Reservation{}, fmt.Errorf("catalog: reserve: %w", err)
	}
	if qty < 1 {
		return Reservation{}, fmt.Errorf("catalog: reserve %s: quantity %d", productID, qty)
	}
	filter := bson.D{
		{Key: "_id", Value: productID},
		absent("deletedAt"),
		{Key: "stock", Value: bson.D{{Key: "$gte", Value: qty}}},
		absent("reservations." + orderID),
		absent("released." + orderID),
		absent("settled." + orderID),
	}
	update := bson.D{
		{Key: "$inc", Value: bson.D{{Key: "stock", Value: -qty}, {Key: "reserved", Value: qty}}},
		{Key: "$set", Value: bson.D{{Key: "reservations." + orderID, Value: bson.D{{Key: "qty", Value: qty}, {Key: "at", Value: Now()}}}}},
	}
	for range maxTries {
		res, err := s.products.UpdateOne(ctx, filter, update)
		if err != nil {
			return Reservation{}, fmt.Errorf("catalog: reserve %s: %w", productID, err)
		}
		if res.MatchedCount == 1 {
			return Reservation{Outcome: Reserved, Quantity: qty}, nil
		}
		c, ok, err := s.readClaim(ctx, orderID, productID)
		if err != nil {
			return Reservation{}, fmt.Errorf("catalog: reserve: %w", err)
		}
		r, decided := c.why(ok, orderID, qty)
		if decided {
			return r, nil
		}
	}
	return Reservation{}, fmt.Errorf("catalog: reserve %s: %w", productID, ErrConflict)
}

// why explains a missed reservation; false means nothing explains it (the
// product changed since) and the update is worth another try.
func (c claim) why(found bool, orderID string, qty int64) (Reservation, bool) {
	if !found {
		return Reservation{Outcome: Gone}, true
	}
	if r, ok := c.Reservations[orderID]; ok {
		return Reservation{Outcome: Held, Quantity: r.Qty}, true
	}
	if m, ok := c.Settled[orderID]; ok {
		return Reservation{Outcome: Held, Quantity: m.Q}, true
	}
	if _, ok := c.Released[orderID]; ok {
		return Reservation{Outcome: Revoked}, true
	}
	if c.DeletedAt != nil {
		return Reservation{Outcome: Gone}, true
	}
	if c.Stock < qty {
		return Reservation{Outcome: Short, Available: max(c.Stock, 0)}, true
	}
	return Reservation{}, false
}

// Release gives back what orderID holds of productID, once: the units return
// to stock and the order is marked released on the product, which also bars
// any later reservation by the order (a late duplicate). Where the order
// holds nothing, only that mark is set. It returns the units given back.
// A product deleted since the reservation releases like any other.
func (s *Store) Release(ctx context.Context, orderID, productID string) (int64, error) {
	n, err := s.finish(ctx, orderID, productID, "released", "stock")
	if err != nil {
		return 0, fmt.Errorf("catalog: release: %w", err)
	}
	return n, nil
}

// Settle turns what orderID holds of productID into a sale, once: reserved
// units move to sold. Settling again is a no-op returning 0. It fails with
// ErrNotReserved when the order holds nothing there, and ErrReleased when its
// reservation was given back. A deleted product settles like any other.
func (s *Store) Settle(ctx context.Context, orderID, productID string) (int64, error) {
	n, err := s.finish(ctx, orderID, productID, "settled", "sold")
	if err != nil {
		return 0, fmt.Errorf("catalog: settle: %w", err)
	}
	return n, nil
}

// finish ends orderID's reservation of productID: the held units move from
// reserved to counter, and the order is recorded under mark. The update
// matches only while the reservation exists with the quantity read, so two
// concurrent calls cannot both move it.
func (s *Store) finish(ctx context.Context, orderID, productID, mark, counter string) (int64, error) {
	if err := checkOrderID(orderID); err != nil {
		return 0, err
	}
	for range maxTries {
		c, ok, err := s.readClaim(ctx, orderID, productID)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, nil // products are never removed; nothing was ever held
		}
		if r, held := c.Reservations[orderID]; held {
			res, err := s.products.UpdateOne(ctx,
				bson.D{{Key: "_id", Value: productID}, {Key: "reservations." + orderID + ".qty", Value: r.Qty}},
				bson.D{
					{Key: "$inc", Value: bson.D{{Key: counter, Value: r.Qty}, {Key: "reserved", Value: -r.Qty}, {Key: "markers", Value: 1}}},
					{Key: "$unset", Value: bson.D{{Key: "reservations." + orderID, Value: ""}}},
					{Key: "$set", Value: bson.D{{Key: mark + "." + orderID, Value: newMarker(r.Qty)}}},
				})
			if err != nil {
				return 0, fmt.Errorf("%s %s: %w", mark, productID, err)
			}
			if res.MatchedCount == 1 {
				s.pruneIfMany(ctx, productID, c.Markers+1)
				return r.Qty, nil
			}
			continue
		}
		_, released := c.Released[orderID]
		_, settled := c.Settled[orderID]
		switch {
		case mark == "settled" && settled, mark == "released" && (released || settled):
			return 0, nil
		case mark == "settled" && released:
			return 0, ErrReleased
		case mark == "settled":
			return 0, ErrNotReserved
		}
		// Nothing held: mark the order released so it can never reserve
		// here later, unless a reservation slipped in since the read.
		res, err := s.products.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: productID}, absent("reservations." + orderID), absent("released." + orderID), absent("settled." + orderID)},
			bson.D{{Key: "$set", Value: bson.D{{Key: "released." + orderID, Value: newMarker(0)}}},
				{Key: "$inc", Value: bson.D{{Key: "markers", Value: 1}}}})
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", mark, productID, err)
		}
		if res.MatchedCount == 1 {
			s.pruneIfMany(ctx, productID, c.Markers+1)
			return 0, nil
		}
	}
	return 0, fmt.Errorf("%s %s: %w", mark, productID, ErrConflict)
}

// pruneIfMany prunes the product's old markers once it holds more than
// pruneAbove. A failure only delays the pruning to a later call.
func (s *Store) pruneIfMany(ctx context.Context, productID string, markers int64) {
	if markers <= s.pruneAbove {
		return
	}
	if _, err := s.prune(ctx, productID); err != nil {
		slog.Default().WarnContext(ctx, "catalog: pruning markers failed; a later settle or release tries again",
			"product_id", productID, "error", err)
	}
}

// prune removes the released and settled markers older than the retention
// from one product, in one update guarded by the product's markerEpoch, so
// of two concurrent prunes one applies. It returns how many it removed.
func (s *Store) prune(ctx context.Context, productID string) (int, error) {
	var doc struct {
		Released  map[string]marker `bson:"released"`
		Settled   map[string]marker `bson:"settled"`
		Restocked map[string]marker `bson:"restocked"`
		Epoch     int64             `bson:"markerEpoch"`
	}
	proj := bson.D{{Key: "released", Value: 1}, {Key: "settled", Value: 1}, {Key: "restocked", Value: 1}, {Key: "markerEpoch", Value: 1}}
	if err := s.products.FindOne(ctx, bson.D{{Key: "_id", Value: productID}}, options.FindOne().SetProjection(proj)).Decode(&doc); err != nil {
		return 0, fmt.Errorf("catalog: prune %s: %w", productID, err)
	}
	cutoff := Now().Add(-s.retention)
	unset := bson.D{}
	for field, markers := range map[string]map[string]marker{"released": doc.Released, "settled": doc.Settled} {
		for order, m := range markers {
			if m.At.Before(cutoff) {
				unset = append(unset, bson.E{Key: field + "." + order, Value: ""})
			}
		}
	}
	restocks, err := s.prunableRestocks(ctx, doc.Restocked, cutoff)
	if err != nil {
		return 0, fmt.Errorf("catalog: prune %s: %w", productID, err)
	}
	for _, id := range restocks {
		unset = append(unset, bson.E{Key: "restocked." + id, Value: ""})
	}
	if len(unset) == 0 {
		return 0, nil
	}
	kept := int64(len(doc.Released) + len(doc.Settled) + len(doc.Restocked) - len(unset))
	epoch := bson.E{Key: "markerEpoch", Value: doc.Epoch}
	if doc.Epoch == 0 { // never pruned: the field is not there yet
		epoch = absent("markerEpoch")
	}
	res, err := s.products.UpdateOne(ctx, bson.D{{Key: "_id", Value: productID}, epoch}, bson.D{
		{Key: "$unset", Value: unset},
		{Key: "$set", Value: bson.D{{Key: "markers", Value: kept}, {Key: "markerEpoch", Value: doc.Epoch + 1}}},
	})
	if err != nil {
		return 0, fmt.Errorf("catalog: prune %s: %w", productID, err)
	}
	if res.MatchedCount == 0 {
		return 0, nil // another prune went first
	}
	return len(unset), nil
}
