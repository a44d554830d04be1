// Package synccustomer is the event function that keeps the orders side's
// copy of each customer (email, name, saved addresses) from USER_UPDATED.
// Orders take their customer snapshot from it, and POST /api/orders resolves
// shippingAddressId against its addresses. An older profile than the stored
// one (by version, then updatedAt) is ignored.
package synccustomer

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/orderstore"
)

// Name is the function's name.
const Name = "sync-customer"

// New returns the function, unstarted: it opens the orders database the
// configuration names.
func New() *fn.Reaction[*orderstore.Store] { return fn.On(Name, orderstore.OpenFrom, apply) }

// apply applies a USER_UPDATED. It has no reply.
func apply(ctx context.Context, s *orderstore.Store, d events.UserUpdatedData) (*event.Event, error) {
	applied, err := s.ApplyCustomer(ctx, orderstore.Customer{
		ID: d.UserID, Email: d.Email, Name: d.Name, Addresses: d.Addresses, Version: d.Version, UpdatedAt: d.UpdatedAt,
	})
	if err != nil {
		return nil, fmt.Errorf("synccustomer: %w", err)
	}
	fn.Logger(ctx).InfoContext(ctx, "customer profile", "user_id", d.UserID, "applied", applied)
	return nil, nil
}
