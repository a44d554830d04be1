package catalog

import (
	"context"
	"time"
)

// Steps of ReserveOrder, for tests that stop it midway as a crash would, or
// run a walk late, as a duplicate delivery that read the hold as pending
// long ago would.
var (
	BeginHold  = (*Store).beginHold
	ReserveAll = (*Store).reserveAll
)

// ReserveStep runs one product's reserve step under token and returns its
// outcome ("reserved", "held", "short" or "gone") and the stock it saw when
// short.
func (s *Store) ReserveStep(ctx context.Context, orderID, productID string, qty int64, token string) (string, int64, error) {
	r, err := s.reserve(ctx, orderID, productID, qty, token)
	return [...]string{"", "reserved", "held", "short", "gone"}[r.outcome], r.available, err
}

// ReleaseStep gives back the order's reservation of productID, whatever its
// token; SettleStep sells it.
func (s *Store) ReleaseStep(ctx context.Context, orderID, productID string) (int64, error) {
	return s.finish(ctx, orderID, productID, anyToken, "stock")
}

func (s *Store) SettleStep(ctx context.Context, orderID, productID string) (int64, error) {
	return s.finish(ctx, orderID, productID, anyToken, "sold")
}

// SetMarkerRetention shortens the marker retention and the pruning
// threshold, so tests see pruning without waiting minutes.
func (s *Store) SetMarkerRetention(retention time.Duration, pruneAbove int64) {
	s.retention, s.pruneAbove = retention, pruneAbove
}

// Decide records a pending hold's decision as a walk would (a decision
// already there stands) and returns the hold as it now is.
func Decide(s *Store, ctx context.Context, orderID string, status Status, shortages []Shortage) (Hold, error) {
	if _, err := s.insertOnce(ctx, fact{ID: orderID + decisionSuffix, Status: status, Shortages: shortages, At: Now()}); err != nil {
		return Hold{}, err
	}
	return s.Hold(ctx, orderID)
}

// HoldPruning marks productID as being pruned by this process, as a prune
// still running would; the returned func ends the mark.
func (s *Store) HoldPruning(productID string) func() {
	s.pruning.Store(productID, struct{}{})
	return func() { s.pruning.Delete(productID) }
}
