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

// Function is sync-customer.
type Function struct {
	store *orderstore.Store // the orders database, kept with fn.Use
}

// New returns the function, unstarted.
func New() *Function { return &Function{} }

// Start opens the orders database the configuration names; the runtime keeps it (fn.Use).
func (f *Function) Start(ctx context.Context, cfg map[string]string) (err error) {
	f.store, err = orderstore.OpenFrom(ctx, cfg)
	return fn.Use(ctx, f.store, err)
}

// Handle applies a USER_UPDATED. It has no reply.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var d events.UserUpdatedData
	if err := events.Decode(e, &d); err != nil {
		return nil, fn.Permanent(err)
	}
	applied, err := f.store.ApplyCustomer(ctx, orderstore.Customer{
		ID: d.UserID, Email: d.Email, Name: d.Name, Addresses: d.Addresses, Version: d.Version, UpdatedAt: d.UpdatedAt,
	})
	if err != nil {
		return nil, fmt.Errorf("synccustomer: %w", err)
	}
	fn.Logger(ctx).InfoContext(ctx, "customer profile", "user_id", d.UserID, "applied", applied)
	return nil, nil
}
