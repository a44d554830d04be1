package identity

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/mongostore"
)

// Conn is a function's connection to the identity database. A function
// embeds it, opens it from its own Start (each function puts its own
// stores on it) and gets the Stop hook.
type Conn struct {
	// DB is the identity database, once opened.
	DB *mongo.Database
}

var _ fn.Stopper = (*Conn)(nil)

// Open connects to the identity database c describes.
func (c *Conn) Open(ctx context.Context, sc mongostore.Config) error {
	db, err := mongostore.Open(ctx, sc)
	if err != nil {
		return err
	}
	c.DB = db
	return nil
}

// OpenFrom connects to the identity database a function's cfg names
// (StoreConfig).
func (c *Conn) OpenFrom(ctx context.Context, cfg map[string]string) error {
	sc, err := StoreConfig(cfg)
	if err != nil {
		return err
	}
	return c.Open(ctx, sc)
}

// Stop disconnects, unless the client is the process's shared one; before
// Open it has nothing to do.
func (c *Conn) Stop(ctx context.Context) error {
	if err := mongostore.Close(ctx, c.DB); err != nil {
		return fmt.Errorf("identity: stop: %w", err)
	}
	return nil
}
