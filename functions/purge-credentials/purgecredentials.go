// Package purgecredentials is the purge-credentials function: on
// USER_DELETED it removes the user's credential and every refresh token, so
// login and refresh stop working for the deleted account.
package purgecredentials

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/identity"
)

// Name is the function's name.
const Name = "purge-credentials"

// PurgeCredentials is the purge-credentials function.
type PurgeCredentials struct {
	creds *identity.Credentials
}

// New returns an unstarted purge-credentials function.
func New() *PurgeCredentials { return &PurgeCredentials{} }

// Start opens the identity database (MONGODB_URI, KNSHOP_SERIALIZE_DB,
// IDENTITY_DATABASE).
func (f *PurgeCredentials) Start(ctx context.Context, cfg map[string]string) error {
	db, err := identity.OpenFrom(ctx, cfg)
	if err := fn.Use(ctx, db, err); err != nil {
		return err
	}
	f.creds, err = identity.OpenCredentials(ctx, db.Database, nil, fn.Logger(ctx))
	return err
}

// Handle deletes the user's refresh tokens and credential. Deleting what is
// already gone is a no-op, so redelivery is harmless; a failure between
// the two deletes is retried by the Broker and finishes the job. It has no
// reply.
func (f *PurgeCredentials) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var d events.UserDeletedData
	if err := events.Decode(e, &d); err != nil {
		return nil, err
	}
	removed, err := f.creds.Purge(ctx, d.UserID)
	if err != nil {
		return nil, fmt.Errorf("purge-credentials: %w", err)
	}
	fn.Logger(ctx).InfoContext(ctx, "credentials purged", "user_id", d.UserID, "had_credential", removed)
	return nil, nil
}

var _ fn.EventFunction = (*PurgeCredentials)(nil)
