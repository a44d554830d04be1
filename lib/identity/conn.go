package identity

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/knshop/knshop/lib/mongostore"
)

// DB is a function's connection to the identity database: the functions
// open their stores on it (OpenProfiles, OpenCredentials) and hand it to
// the runtime (fn.Use), which pings it for readiness and closes it at stop.
type DB struct {
	*mongo.Database
}

// Open connects to the identity database sc describes.
func Open(ctx context.Context, sc mongostore.Config) (*DB, error) {
	db, err := mongostore.Open(ctx, sc)
	if err != nil {
		return nil, err
	}
	return &DB{db}, nil
}

// OpenFrom connects to the identity database a function's cfg names
// (ConfigFrom).
func OpenFrom(ctx context.Context, cfg map[string]string) (*DB, error) {
	sc, err := ConfigFrom(cfg)
	if err != nil {
		return nil, err
	}
	return Open(ctx, sc)
}

// Ping checks the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if d == nil {
		return fmt.Errorf("identity: not open")
	}
	return d.Client().Ping(ctx, nil)
}

// Close disconnects, unless the client is the process's shared one; a DB
// never opened has nothing to do.
func (d *DB) Close(ctx context.Context) error {
	if d == nil {
		return nil
	}
	if err := mongostore.Close(ctx, d.Database); err != nil {
		return fmt.Errorf("identity: close: %w", err)
	}
	return nil
}
