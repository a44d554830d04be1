// Package synccatalog is the event function that keeps the orders side's
// read model of products (name, price, stock, deleted) from PRODUCT_ADDED,
// PRODUCT_UPDATED and PRODUCT_DELETED. Each event carries the product's
// version; only a version newer than the stored one is applied, so
// duplicates and events arriving out of order leave the newest state.
package synccatalog

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/orderstore"
)

// Name is the function's name.
const Name = "sync-catalog"

// New returns the function, unstarted: it opens the orders database the
// configuration names.
func New() *fn.Reaction[*orderstore.Store] { return fn.OnEvent(orderstore.OpenFrom, apply) }

// apply applies one PRODUCT_* event to the read model. It has no reply.
func apply(ctx context.Context, s *orderstore.Store, e event.Event) (*event.Event, error) {
	p, err := product(e)
	if err != nil {
		return nil, fn.Permanent(err)
	}
	var applied bool
	if p.Deleted {
		applied, err = s.DeleteProduct(ctx, p.ID, p.Version, p.UpdatedAt)
	} else {
		applied, err = s.ApplyProduct(ctx, p)
	}
	if err != nil {
		return nil, fmt.Errorf("synccatalog: %w", err)
	}
	fn.Logger(ctx).InfoContext(ctx, "product event", "product_id", p.ID, "version", p.Version, "applied", applied)
	return nil, nil
}

// product reads the product state an event carries.
func product(e event.Event) (orderstore.Product, error) {
	switch events.Type(e.Type()) {
	case events.ProductAdded:
		var d events.ProductAddedData
		if err := events.Decode(e, &d); err != nil {
			return orderstore.Product{}, err
		}
		return orderstore.Product{ID: d.ProductID, Name: d.Name, Price: d.Price, Stock: d.Stock, Version: d.Version, UpdatedAt: d.AddedAt}, nil
	case events.ProductUpdated:
		var d events.ProductUpdatedData
		if err := events.Decode(e, &d); err != nil {
			return orderstore.Product{}, err
		}
		return orderstore.Product{ID: d.ProductID, Name: d.Name, Price: d.Price, Stock: d.Stock, Version: d.Version, UpdatedAt: d.UpdatedAt}, nil
	case events.ProductDeleted:
		var d events.ProductDeletedData
		if err := events.Decode(e, &d); err != nil {
			return orderstore.Product{}, err
		}
		return orderstore.Product{ID: d.ProductID, Deleted: true, Version: d.Version, UpdatedAt: d.DeletedAt}, nil
	}
	return orderstore.Product{}, fmt.Errorf("synccatalog: %w: type %s is not a product event", events.ErrInvalid, e.Type())
}
