package catalog

import "time"

// Steps of ReserveOrder, for tests that stop it midway as a crash would.
var (
	BeginHold = (*Store).beginHold
	Decide    = (*Store).decide
)

// SetMarkerRetention shortens the marker retention and the pruning
// threshold, so tests see pruning without waiting minutes.
func (s *Store) SetMarkerRetention(retention time.Duration, pruneAbove int64) {
	s.retention, s.pruneAbove = retention, pruneAbove
}
