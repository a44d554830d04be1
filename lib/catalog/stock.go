package catalog

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// reserveOutcome is what one reserve step found.
type reserveOutcome int

// Outcomes of reserve.
const (
	// reserved: this step took the units, under its token.
	reserved reserveOutcome = iota + 1
	// held: the order already holds units of this product (another walk's
	// reservation, whose token the outcome carries).
	held
	// short: not enough stock; available says how much there is.
	short
	// gone: no such product, or it was deleted.
	gone
)

// reservation is the result of reserve.
type reservation struct {
	outcome   reserveOutcome
	token     string // the reservation's token (reserved, held)
	available int64  // stock seen (short)
}

// entry is an order's reservation on a product: the units and the token of
// the walk that made it. The names are short on purpose: a hot product
// carries one entry per order in flight, and the embedded FerretDB reads
// and writes the whole document on every step (a reservation of the
// versions before tokens reads with no token).
type entry struct {
	Qty   int64  `bson:"qty"`
	Token string `bson:"t,omitempty"`
}

// newToken returns a walk's token: 12 random characters, enough to tell
// the walks of one order apart.
func newToken() string {
	return rand.Text()[:12]
}

// claim is a product's stock and one order's reservation on it.
type claim struct {
	Stock        int64            `bson:"stock"`
	DeletedAt    *time.Time       `bson:"deletedAt"`
	Reservations map[string]entry `bson:"reservations"`
}

// marker is a restocked entry: the units and when. Legacy released and
// settled markers have the same shape; documents written before markers
// carried a time hold a bare quantity, read with a zero time (old, so
// pruned first).
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

// readClaim reads product productID's stock and the order's reservation.
func (s *Store) readClaim(ctx context.Context, orderID, productID string) (claim, bool, error) {
	proj := bson.D{{Key: "stock", Value: 1}, {Key: "deletedAt", Value: 1}, {Key: "reservations." + orderID, Value: 1}}
	var c claim
	err := s.reads.FindOne(ctx, bson.D{{Key: "_id", Value: productID}}, options.FindOne().SetProjection(proj)).Decode(&c)
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

// reserve takes qty units of productID for orderID under token with one
// conditional update: only if the product is live, has the stock, and the
// order holds no reservation on it. When the update misses, it reads the
// product to say why. It knows nothing of the order's other records: the
// walk that calls it (hold.go) makes a late reservation harmless.
func (s *Store) reserve(ctx context.Context, orderID, productID string, qty int64, token string) (reservation, error) {
	filter := bson.D{
		{Key: "_id", Value: productID},
		absent("deletedAt"),
		{Key: "stock", Value: bson.D{{Key: "$gte", Value: qty}}},
		absent("reservations." + orderID),
	}
	update := bson.D{
		{Key: "$inc", Value: bson.D{{Key: "stock", Value: -qty}, {Key: "reserved", Value: qty}}},
		{Key: "$set", Value: bson.D{{Key: "reservations." + orderID, Value: entry{Qty: qty, Token: token}}}},
	}
	for range maxTries {
		res, err := s.products.UpdateOne(ctx, filter, update)
		if err != nil {
			return reservation{}, fmt.Errorf("catalog: reserve %s: %w", productID, err)
		}
		if res.MatchedCount == 1 {
			return reservation{outcome: reserved, token: token}, nil
		}
		c, ok, err := s.readClaim(ctx, orderID, productID)
		if err != nil {
			return reservation{}, fmt.Errorf("catalog: reserve: %w", err)
		}
		if r, decided := c.why(ok, orderID, qty); decided {
			return r, nil
		}
	}
	return reservation{}, fmt.Errorf("catalog: reserve %s: %w", productID, ErrConflict)
}

// why explains a missed reservation; false means nothing explains it (the
// product changed since) and the update is worth another try.
func (c claim) why(found bool, orderID string, qty int64) (reservation, bool) {
	if !found {
		return reservation{outcome: gone}, true
	}
	if e, ok := c.Reservations[orderID]; ok {
		return reservation{outcome: held, token: e.Token}, true
	}
	if c.DeletedAt != nil {
		return reservation{outcome: gone}, true
	}
	if c.Stock < qty {
		return reservation{outcome: short, available: max(c.Stock, 0)}, true
	}
	return reservation{}, false
}

// anyToken matches a reservation whatever its token.
const anyToken = ""

// finish ends orderID's reservation of productID if it carries token (any
// reservation for anyToken): its units move from reserved to counter
// ("stock" gives them back, "sold" sells them). The update matches only
// while the reservation read is still there, so of two concurrent calls one
// moves the units. It returns the units this call moved (0: there was no
// such reservation).
func (s *Store) finish(ctx context.Context, orderID, productID, token, counter string) (int64, error) {
	for range maxTries {
		c, ok, err := s.readClaim(ctx, orderID, productID)
		if err != nil {
			return 0, err
		}
		e, held := c.Reservations[orderID]
		if !ok || !held || (token != anyToken && e.Token != token) {
			return 0, nil
		}
		n, err := s.finishKnown(ctx, orderID, productID, e, counter)
		if err != nil || n > 0 {
			return n, err
		}
	}
	return 0, fmt.Errorf("%s %s: %w", counter, productID, ErrConflict)
}

// finishKnown ends the reservation e of orderID on productID, if it is
// still there, with one conditional update; it returns the units moved (0:
// it was not there).
func (s *Store) finishKnown(ctx context.Context, orderID, productID string, e entry, counter string) (int64, error) {
	// The token tells this reservation from a later one of the order; a
	// reservation written before tokens has none.
	tokenIs := bson.E{Key: "reservations." + orderID + ".t", Value: e.Token}
	if e.Token == "" {
		tokenIs = absent("reservations." + orderID + ".t")
	}
	match := bson.D{{Key: "_id", Value: productID}, {Key: "reservations." + orderID + ".qty", Value: e.Qty}, tokenIs}
	res, err := s.products.UpdateOne(ctx, match, bson.D{
		{Key: "$inc", Value: bson.D{{Key: counter, Value: e.Qty}, {Key: "reserved", Value: -e.Qty}}},
		{Key: "$unset", Value: bson.D{{Key: "reservations." + orderID, Value: ""}}},
	})
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", counter, productID, err)
	}
	if res.MatchedCount == 1 {
		return e.Qty, nil
	}
	return 0, nil
}

// commit removes a counted reservation of orderID from productID without
// moving any units: from then on its order's decision (which names the
// token) and the request (the units) are its record, and the units stay in
// reserved until finishCommitted moves them. So a product carries a
// reservation only while its walk decides. Committing a reservation that is
// gone is a no-op.
func (s *Store) commit(ctx context.Context, orderID, productID, token string) error {
	_, err := s.products.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: productID}, {Key: "reservations." + orderID + ".t", Value: token}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "reservations." + orderID, Value: ""}}}})
	if err != nil {
		return fmt.Errorf("commit %s: %w", productID, err)
	}
	return nil
}

// finSuffix names the fact that an order's committed units of a product
// were sold or given back: <orderId>#fin#<productId> in the holds
// collection.
const finSuffix = "#fin#"

// finishCommitted moves qty committed units of orderID on productID from
// reserved to counter ("stock" or "sold"), exactly once, and returns the
// units this call moved. The move sets a marker fin.<orderId> on the
// product in the same conditional update, and the fact <order>#fin#<product>
// is written after it; the marker is pruned (with a markerEpoch bump) only
// once the fact exists. The update is guarded by the epoch read before the
// fact was looked for, so a call that found no fact cannot move the units
// after the marker it would have met was pruned.
func (s *Store) finishCommitted(ctx context.Context, orderID, productID string, qty int64, counter string) (int64, error) {
	factID := orderID + finSuffix + productID
	var moved int64
	for range maxTries {
		var doc struct {
			Fin     map[string]int64 `bson:"fin"`
			Epoch   int64            `bson:"markerEpoch"`
			Markers int64            `bson:"markers"`
		}
		proj := bson.D{{Key: "fin." + orderID, Value: 1}, {Key: "markerEpoch", Value: 1}, {Key: "markers", Value: 1}}
		err := s.reads.FindOne(ctx, bson.D{{Key: "_id", Value: productID}}, options.FindOne().SetProjection(proj)).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return 0, nil // products are never removed; nothing was ever held
		}
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", counter, productID, err)
		}
		if _, marked := doc.Fin[orderID]; !marked {
			if _, done, err := s.fact(ctx, factID); err != nil || done {
				return 0, err
			}
			epoch := bson.E{Key: "markerEpoch", Value: doc.Epoch}
			if doc.Epoch == 0 {
				epoch = absent("markerEpoch")
			}
			res, err := s.products.UpdateOne(ctx, bson.D{{Key: "_id", Value: productID}, epoch, absent("fin." + orderID)},
				bson.D{
					{Key: "$inc", Value: bson.D{{Key: counter, Value: qty}, {Key: "reserved", Value: -qty}, {Key: "markers", Value: 1}}},
					{Key: "$set", Value: bson.D{{Key: "fin." + orderID, Value: qty}}},
				})
			if err != nil {
				return 0, fmt.Errorf("%s %s: %w", counter, productID, err)
			}
			if res.MatchedCount == 0 {
				continue // pruned or marked meanwhile: look again
			}
			moved = qty
			doc.Markers++
		}
		if _, err := s.insertOnce(ctx, fact{ID: factID, Status: Status(counter), At: Now()}); err != nil {
			return moved, err
		}
		s.pruneIfMany(ctx, productID, doc.Markers)
		return moved, nil
	}
	return 0, fmt.Errorf("%s %s: %w", counter, productID, ErrConflict)
}

// pruneIfMany prunes the product's markers once it holds more than
// pruneAbove; markers is the count the caller last read (with its own
// marker added). It leaves the pruning to a prune of the product already
// running in this process. A failure only delays the pruning to a later
// call.
func (s *Store) pruneIfMany(ctx context.Context, productID string, markers int64) {
	if markers <= s.pruneAbove {
		return
	}
	if _, running := s.pruning.LoadOrStore(productID, struct{}{}); running {
		return
	}
	defer s.pruning.Delete(productID)
	if _, err := s.prune(ctx, productID); err != nil {
		slog.Default().WarnContext(ctx, "catalog: pruning markers failed; a later call tries again",
			"product_id", productID, "error", err)
	}
}

// markerCount reads how many markers the product holds; 0 when the read
// fails, so the pruning waits for a later call.
func (s *Store) markerCount(ctx context.Context, productID string) int64 {
	var doc struct {
		Markers int64 `bson:"markers"`
	}
	_ = s.reads.FindOne(ctx, bson.D{{Key: "_id", Value: productID}}, options.FindOne().SetProjection(bson.D{{Key: "markers", Value: 1}})).Decode(&doc)
	return doc.Markers
}

// prune removes from one product the fin markers whose fact exists, the
// restocked markers older than the retention whose return's fact exists,
// and the legacy released and settled ones older than the retention, in one update guarded by the product's markerEpoch, so
// of two concurrent prunes one applies. It returns how many it removed.
func (s *Store) prune(ctx context.Context, productID string) (int, error) {
	var doc struct {
		Released  map[string]marker `bson:"released"`
		Settled   map[string]marker `bson:"settled"`
		Restocked map[string]marker `bson:"restocked"`
		Fin       map[string]int64  `bson:"fin"`
		Epoch     int64             `bson:"markerEpoch"`
	}
	proj := bson.D{{Key: "released", Value: 1}, {Key: "settled", Value: 1}, {Key: "restocked", Value: 1},
		{Key: "fin", Value: 1}, {Key: "markerEpoch", Value: 1}}
	if err := s.reads.FindOne(ctx, bson.D{{Key: "_id", Value: productID}}, options.FindOne().SetProjection(proj)).Decode(&doc); err != nil {
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
	for order := range doc.Fin {
		_, done, err := s.fact(ctx, order+finSuffix+productID)
		if err != nil {
			return 0, fmt.Errorf("catalog: prune %s: %w", productID, err)
		}
		if done {
			unset = append(unset, bson.E{Key: "fin." + order, Value: ""})
		}
	}
	if len(unset) == 0 {
		return 0, nil
	}
	kept := int64(len(doc.Released) + len(doc.Settled) + len(doc.Restocked) + len(doc.Fin) - len(unset))
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
