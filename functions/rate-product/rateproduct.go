// Package rateproduct is the rate-product function: on REVIEW_ADDED,
// REVIEW_UPDATED and REVIEW_DELETED it keeps the product's rating (average
// and count of its visible reviews). Each event's fact about its review is
// kept unless a newer one is (revisions order them; a deletion is final),
// and the rating is recounted from those facts, so duplicates and any
// order of arrival end in the same rating.
package rateproduct

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/catalog"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
)

// Name is the function's name.
const Name = "rate-product"

// New returns an unstarted rate-product: it opens the catalog.
func New() *fn.Reaction[*catalog.Store] { return fn.OnEvent(catalog.OpenFrom, rate) }

// rate applies one review event to its product's rating.
func rate(ctx context.Context, s *catalog.Store, e event.Event) (*event.Event, error) {
	fact, err := factOf(e)
	if err != nil {
		return nil, fn.Permanent(fmt.Errorf("rateproduct: %w", err))
	}
	r, err := s.ApplyRating(ctx, fact)
	if err != nil {
		return nil, fmt.Errorf("rateproduct: review %s: %w", fact.ReviewID, err)
	}
	fn.Logger(ctx).InfoContext(ctx, "product rated", "product_id", fact.ProductID, "review_id", fact.ReviewID,
		"average", r.Average, "count", r.Count)
	return nil, nil
}

// factOf reads what a review event says of its review.
func factOf(e event.Event) (catalog.RatingFact, error) {
	switch events.Type(e.Type()) {
	case events.ReviewAdded:
		var d events.ReviewAddedData
		if err := events.Decode(e, &d); err != nil {
			return catalog.RatingFact{}, err
		}
		return catalog.RatingFact{ReviewID: d.ReviewID, ProductID: d.ProductID, Rating: d.Rating, Visible: true, Revision: d.Revision}, nil
	case events.ReviewUpdated:
		var d events.ReviewUpdatedData
		if err := events.Decode(e, &d); err != nil {
			return catalog.RatingFact{}, err
		}
		return catalog.RatingFact{ReviewID: d.ReviewID, ProductID: d.ProductID, Rating: d.Rating, Visible: d.Visible, Revision: d.Revision}, nil
	case events.ReviewDeleted:
		var d events.ReviewDeletedData
		if err := events.Decode(e, &d); err != nil {
			return catalog.RatingFact{}, err
		}
		return catalog.RatingFact{ReviewID: d.ReviewID, ProductID: d.ProductID, Deleted: true}, nil
	}
	return catalog.RatingFact{}, fmt.Errorf("%s is not a review event", e.Type())
}
