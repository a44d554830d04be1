// Package purgecredentials is the purge-credentials function: on
// USER_DELETED it removes the user's credential and every refresh token, so
// login and refresh stop working for the deleted account.
package purgecredentials

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/identity"
)

// Name is the function's name.
const Name = "purge-credentials"

// New returns an unstarted purge-credentials function: it opens the
// identity database (MONGODB_URI, KNSHOP_SERIALIZE_DB, IDENTITY_DATABASE)
// and its credential store.
func New() *fn.Reaction[*credentials] { return fn.On(Name, open, purge) }

// credentials is the identity database, which the runtime keeps, and its
// credential store.
type credentials struct {
	*identity.DB
	store *identity.Credentials
}

func open(ctx context.Context, cfg map[string]string) (*credentials, error) {
	db, err := identity.OpenFrom(ctx, cfg)
	if err != nil {
		return nil, err
	}
	store, err := identity.OpenCredentials(ctx, db.Database, nil, fn.Logger(ctx))
	if err != nil {
		return nil, errors.Join(err, db.Close(ctx))
	}
	return &credentials{DB: db, store: store}, nil
}

// purge deletes the user's refresh tokens and credential. Deleting what is
// already gone is a no-op, so redelivery is harmless; a failure between
// the two deletes is retried by the Broker and finishes the job. It has no
// reply.
func purge(ctx context.Context, c *credentials, d events.UserDeletedData) (*event.Event, error) {
	removed, err := c.store.Purge(ctx, d.UserID)
	if err != nil {
		return nil, fmt.Errorf("purge-credentials: %w", err)
	}
	fn.Logger(ctx).InfoContext(ctx, "credentials purged", "user_id", d.UserID, "had_credential", removed)
	return nil, nil
}
