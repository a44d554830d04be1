package catalog

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// restockedSuffix names the fact that a return's units are all back in
// stock (holds collection, _id = return id + restockedSuffix).
const restockedSuffix = "#restocked"

// RestockReturn puts a received return's units back in stock, once per
// return, and returns the units this call put back (0 for a repeat). Each
// product records the return under restocked.<returnId> in the same
// conditional update that adds the units, so a duplicate or concurrent
// delivery adds nothing twice; when every item is done the return's
// "restocked" fact is written, after which a delivery does nothing at all.
// The units leave the sold count. A product deleted since takes its units
// back like any other (it stays unorderable); a product that never existed
// is skipped.
//
// The per-product markers are pruned, once they are older than the
// retention and the return's fact exists, by a later restock of the
// product; a walk that has taken longer than half
// the retention stops with ErrConflict (retried), so no walk can outlive
// the markers it relies on.
func (s *Store) RestockReturn(ctx context.Context, returnID string, items []Item) (int64, error) {
	if err := checkOrderID(returnID); err != nil {
		return 0, fmt.Errorf("catalog: restock return: %w", err)
	}
	items, err := merge(items)
	if err != nil {
		return 0, fmt.Errorf("catalog: restock return %s: %w", returnID, err)
	}
	start := time.Now()
	if _, done, err := s.fact(ctx, returnID+restockedSuffix); err != nil || done {
		return 0, err
	}
	var total int64
	for _, it := range items {
		if time.Since(start) > s.retention/2 {
			return total, fmt.Errorf("catalog: restock return %s: the walk took too long: %w", returnID, ErrConflict)
		}
		res, err := s.products.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: it.ProductID}, absent("restocked." + returnID)},
			bson.D{
				{Key: "$inc", Value: bson.D{{Key: "stock", Value: it.Quantity}, {Key: "sold", Value: -it.Quantity}, {Key: "markers", Value: 1}}},
				{Key: "$set", Value: bson.D{{Key: "restocked." + returnID, Value: newMarker(it.Quantity)}}},
			})
		if err != nil {
			return total, fmt.Errorf("catalog: restock return %s: product %s: %w", returnID, it.ProductID, err)
		}
		if res.MatchedCount == 1 {
			total += it.Quantity
			s.pruneIfMany(ctx, it.ProductID, s.markerCount(ctx, it.ProductID))
		}
	}
	if _, err := s.insertOnce(ctx, fact{ID: returnID + restockedSuffix, Status: StatusRestocked, At: Now()}); err != nil {
		return total, err
	}
	return total, nil
}

// Restocked reports whether a return's units are all back in stock.
func (s *Store) Restocked(ctx context.Context, returnID string) (bool, error) {
	if err := checkOrderID(returnID); err != nil {
		return false, fmt.Errorf("catalog: restocked: %w", err)
	}
	_, done, err := s.fact(ctx, returnID+restockedSuffix)
	return done, err
}

// prunableRestocks are the returns among restocked markers older than the
// cutoff whose fact exists: only those markers may go.
func (s *Store) prunableRestocks(ctx context.Context, markers map[string]marker, cutoff time.Time) ([]string, error) {
	var out []string
	for id, m := range markers {
		if !m.At.Before(cutoff) {
			continue
		}
		_, done, err := s.fact(ctx, id+restockedSuffix)
		if err != nil {
			return nil, err
		}
		if done {
			out = append(out, id)
		}
	}
	return out, nil
}
