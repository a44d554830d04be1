package catalog

import (
	"context"
	"fmt"

	"github.com/knshop/knshop/lib/areadb"
	"github.com/knshop/knshop/lib/mongostore"
)

// DatabaseKey names the cfg entry that overrides the database name
// (areadb's rule): tests give each run its own catalog with it.
var DatabaseKey = areadb.Key(Database)

// ConfigFrom reads where the catalog lives from a function's cfg:
// MONGODB_URI, KNSHOP_SERIALIZE_DB and, optionally, CATALOG_DATABASE.
func ConfigFrom(cfg map[string]string) (mongostore.Config, error) {
	return mongostore.ConfigFrom(cfg, Database)
}

// OpenFrom opens the catalog a function's cfg names (ConfigFrom).
func OpenFrom(ctx context.Context, cfg map[string]string) (*Store, error) {
	c, err := ConfigFrom(cfg)
	if err != nil {
		return nil, fmt.Errorf("catalog: config: %w", err)
	}
	return Open(ctx, c)
}

// Close disconnects the client Open made. The process's shared serialized
// client, which other functions still use, and the client of a db given to
// New stay connected; a nil Store (a function never started) has nothing
// to close.
func (s *Store) Close(ctx context.Context) error {
	if s == nil || !s.owned {
		return nil
	}
	if err := s.db.Client().Disconnect(ctx); err != nil {
		return fmt.Errorf("catalog: close: %w", err)
	}
	return nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if s == nil {
		return fmt.Errorf("catalog: ping: %w", ErrNotOpen)
	}
	if err := s.db.Client().Ping(ctx, nil); err != nil {
		return fmt.Errorf("catalog: ping: %w", err)
	}
	return nil
}
