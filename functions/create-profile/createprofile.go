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

// CreateProfile is the create-profile function.
type CreateProfile struct {
	profiles *identity.Profiles
}

// New returns an unstarted create-profile function.
func New() *CreateProfile { return &CreateProfile{} }

// Start opens the identity database (MONGODB_URI, KNSHOP_SERIALIZE_DB,
// IDENTITY_DATABASE).
func (f *CreateProfile) Start(ctx context.Context, cfg map[string]string) error {
	db, err := identity.OpenFrom(ctx, cfg)
	if err := fn.Use(ctx, db, err); err != nil {
		return err
	}
	f.profiles = identity.OpenProfiles(db.Database, nil, fn.Logger(ctx))
	return nil
}

// Handle creates the profile of the registered user. The write is an upsert
// that only inserts, so a redelivered event, a concurrent one, or one that
// arrives after the user edited or deleted the profile changes nothing.
// It has no reply.
func (f *CreateProfile) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var d events.UserRegisteredData
	if err := events.Decode(e, &d); err != nil {
		return nil, err
	}
	at := d.RegisteredAt.UTC()
	created, err := f.profiles.Create(ctx, identity.Profile{
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

var _ fn.EventFunction = (*CreateProfile)(nil)
