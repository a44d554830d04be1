// Package createprofile is the create-profile function: on USER_REGISTERED
// it creates the user's profile document in the identity database, once.
package createprofile

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/identity"
)

// Name is the function's name.
const Name = "create-profile"

// New returns an unstarted create-profile function: it opens the identity
// database (MONGODB_URI, KNSHOP_SERIALIZE_DB, IDENTITY_DATABASE).
func New() *fn.Reaction[*identity.DB] { return fn.On(Name, identity.OpenFrom, create) }

// create creates the profile of the registered user. The write is an upsert
// that only inserts, so a redelivered event, a concurrent one, or one that
// arrives after the user edited or deleted the profile changes nothing.
// It has no reply.
func create(ctx context.Context, db *identity.DB, d events.UserRegisteredData) (*event.Event, error) {
	at := d.RegisteredAt.UTC()
	created, err := identity.OpenProfiles(db.Database, nil, nil).Create(ctx, identity.Profile{
		UserID: d.UserID, Email: identity.NormalizeEmail(d.Email), Name: d.Name, Role: auth.Role(d.Role),
		CreatedAt: at, UpdatedAt: at, Version: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("create-profile: %w", err)
	}
	if !created {
		fn.Logger(ctx).InfoContext(ctx, "profile already exists; nothing to do", "user_id", d.UserID)
	}
	return nil, nil
}
