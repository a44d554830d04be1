package catalog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/knshop/knshop/lib/mongostore"
)

// Collections of reviews, purchases and the per-review rating facts.
const (
	ReviewsCollection   = "reviews"
	PurchasesCollection = "purchases"
	RatingsCollection   = "ratings"
)

// Errors of reviews.
var (
	// ErrNotBuyer: the customer has no completed order holding the product.
	ErrNotBuyer = errors.New("catalog: not a buyer of the product")
	// ErrAlreadyReviewed: the customer has a review of the product.
	ErrAlreadyReviewed = errors.New("catalog: already reviewed")
)

// Review is one customer's review of one product. A deleted review stays as
// a document (its outbox holds REVIEW_DELETED until sent) but is never
// shown; a hidden one (Visible false) is left out of lists and ratings.
type Review struct {
	ID         string    `bson:"_id"`
	ProductID  string    `bson:"productId"`
	AuthorID   string    `bson:"authorId"`
	AuthorName string    `bson:"authorName"`
	Rating     int64     `bson:"rating"`
	Title      string    `bson:"title"`
	Body       string    `bson:"body"`
	Visible    bool      `bson:"visible"`
	Deleted    bool      `bson:"deleted"`
	Revision   int64     `bson:"revision"`
	CreatedAt  time.Time `bson:"createdAt"`
	UpdatedAt  time.Time `bson:"updatedAt"`
}

// Purchase records that a customer received a product (record-purchase,
// from ORDER_COMPLETED), and which of their reviews is the product's.
type Purchase struct {
	ID           string    `bson:"_id"` // PurchaseID(customer, product)
	CustomerID   string    `bson:"customerId"`
	ProductID    string    `bson:"productId"`
	CustomerName string    `bson:"customerName"`
	ReviewID     string    `bson:"reviewId,omitempty"`
	At           time.Time `bson:"at"`
}

// PurchaseID is the _id of a customer's purchase record of a product.
func PurchaseID(customerID, productID string) string { return customerID + "/" + productID }

// Rating is a product's rating over its visible reviews.
type Rating struct {
	Average float64 `bson:"average" json:"average"`
	Count   int64   `bson:"count" json:"count"`
}

// reviewIndexes serve the product's review list, newest first or best
// first; ratingIndexes the rating's recount.
var (
	reviewIndexes = []index{
		{"productId_1_createdAt_-1", bson.D{{Key: "productId", Value: 1}, {Key: "createdAt", Value: -1}}},
		{"productId_1_rating_-1", bson.D{{Key: "productId", Value: 1}, {Key: "rating", Value: -1}}},
	}
	ratingIndexes = []index{{"productId_1", bson.D{{Key: "productId", Value: 1}}}}
)

// RecordPurchase remembers that customerID (named name) received each of
// productIDs. It is idempotent: a record already there is kept as it is.
func (s *Store) RecordPurchase(ctx context.Context, customerID, name string, productIDs []string, at time.Time) error {
	for _, p := range productIDs {
		_, err := s.purchaseInserts.InsertOne(ctx, Purchase{
			ID: PurchaseID(customerID, p), CustomerID: customerID, ProductID: p, CustomerName: name, At: at.UTC(),
		})
		if err != nil && !mongostore.IsDuplicateKey(err) {
			return fmt.Errorf("catalog: record purchase of %s by %s: %w", p, customerID, err)
		}
	}
	return nil
}

// AddReview stores r (revision 1, visible) with extra (its outbox entries)
// for a buyer of the product. The purchase record names the review, set by
// one conditional update, so of two concurrent first reviews one wins; a
// record naming a review that is not there or was deleted (a crash between
// the two writes, or a delete) is taken over. ErrNotBuyer, ErrAlreadyReviewed.
func (s *Store) AddReview(ctx context.Context, r Review, extra Extra) (Review, error) {
	purchases := s.db.Collection(PurchasesCollection)
	pid := PurchaseID(r.AuthorID, r.ProductID)
	var p Purchase
	err := purchases.FindOne(ctx, bson.D{{Key: "_id", Value: pid}}).Decode(&p)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Review{}, ErrNotBuyer
	}
	if err != nil {
		return Review{}, fmt.Errorf("catalog: add review: %w", err)
	}
	claim := absent("reviewId")
	if p.ReviewID != "" {
		_, err := s.GetReview(ctx, p.ReviewID)
		switch {
		case err == nil:
			return Review{}, ErrAlreadyReviewed
		case !errors.Is(err, ErrNotFound):
			return Review{}, err
		}
		claim = bson.E{Key: "reviewId", Value: p.ReviewID} // gone or deleted: take it over
	}
	res, err := purchases.UpdateOne(ctx, bson.D{{Key: "_id", Value: pid}, claim},
		bson.D{{Key: "$set", Value: bson.D{{Key: "reviewId", Value: r.ID}}}})
	if err != nil {
		return Review{}, fmt.Errorf("catalog: add review: %w", err)
	}
	if res.MatchedCount == 0 {
		return Review{}, ErrAlreadyReviewed // another review took it meanwhile
	}
	if p.CustomerName != "" && r.AuthorName == "" {
		r.AuthorName = p.CustomerName
	}
	r.Visible, r.Deleted, r.Revision = true, false, 1
	if err := insertWith(ctx, s.db.Collection(ReviewsCollection), r.ID, r, extra); err != nil {
		return Review{}, fmt.Errorf("catalog: add review: %w", err)
	}
	return r, nil
}

// Purchased returns the customer's purchase record of a product.
func (s *Store) Purchased(ctx context.Context, customerID, productID string) (Purchase, bool, error) {
	var p Purchase
	err := s.db.Collection(PurchasesCollection).FindOne(ctx, bson.D{{Key: "_id", Value: PurchaseID(customerID, productID)}}).Decode(&p)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Purchase{}, false, nil
	}
	if err != nil {
		return Purchase{}, false, fmt.Errorf("catalog: purchase: %w", err)
	}
	return p, true, nil
}

// reviewFields leaves the outbox out of what is read.
var reviewFields = bson.D{{Key: "outbox", Value: 0}}

// GetReview returns the review with id; a deleted one is ErrNotFound.
func (s *Store) GetReview(ctx context.Context, id string) (Review, error) {
	var r Review
	err := s.db.Collection(ReviewsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}},
		options.FindOne().SetProjection(reviewFields)).Decode(&r)
	if errors.Is(err, mongo.ErrNoDocuments) || (err == nil && r.Deleted) {
		return Review{}, fmt.Errorf("catalog: review %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Review{}, fmt.Errorf("catalog: review %s: %w", id, err)
	}
	return r, nil
}

// ChangeReview applies change to review id and bumps its revision, in one
// update conditional on the revision read (retried when another change
// came first); change returns the $set entries to write with it (the
// outbox). A deleted review is ErrNotFound. When the change deletes the
// review, its purchase record lets the author review the product again.
func (s *Store) ChangeReview(ctx context.Context, id string, change func(r *Review) (Extra, error)) (Review, error) {
	reviews := s.db.Collection(ReviewsCollection)
	for range maxTries {
		r, err := s.GetReview(ctx, id)
		if err != nil {
			return Review{}, err
		}
		read := r.Revision
		extra, err := change(&r)
		if err != nil {
			return Review{}, err
		}
		r.Revision = read + 1
		set := bson.D{
			{Key: "rating", Value: r.Rating}, {Key: "title", Value: r.Title}, {Key: "body", Value: r.Body},
			{Key: "visible", Value: r.Visible}, {Key: "deleted", Value: r.Deleted}, {Key: "revision", Value: r.Revision},
			{Key: "updatedAt", Value: r.UpdatedAt},
		}
		for k, v := range extra {
			set = append(set, bson.E{Key: k, Value: v})
		}
		res, err := reviews.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "revision", Value: read}},
			bson.D{{Key: "$set", Value: set}})
		if err != nil {
			return Review{}, fmt.Errorf("catalog: change review %s: %w", id, err)
		}
		if res.MatchedCount == 0 {
			continue
		}
		if r.Deleted {
			// Best effort: AddReview also takes over a purchase that
			// still names a deleted review.
			_, _ = s.db.Collection(PurchasesCollection).UpdateOne(ctx,
				bson.D{{Key: "_id", Value: PurchaseID(r.AuthorID, r.ProductID)}, {Key: "reviewId", Value: id}},
				bson.D{{Key: "$unset", Value: bson.D{{Key: "reviewId", Value: ""}}}})
		}
		return r, nil
	}
	return Review{}, fmt.Errorf("catalog: change review %s: %w", id, ErrConflict)
}

// Review sorts.
const (
	ReviewSortNewest = "-createdAt"
	ReviewSortRating = "-rating"
)

// ListReviews returns one page of the visible reviews of a product and how
// many there are.
func (s *Store) ListReviews(ctx context.Context, productID, sort string, offset, limit int) ([]Review, int, error) {
	filter := bson.D{{Key: "productId", Value: productID}, {Key: "visible", Value: true}, {Key: "deleted", Value: false}}
	order := bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: 1}}
	switch sort {
	case "", ReviewSortNewest:
	case ReviewSortRating:
		order = bson.D{{Key: "rating", Value: -1}, {Key: "createdAt", Value: -1}, {Key: "_id", Value: 1}}
	default:
		return nil, 0, fmt.Errorf("%w: %q", ErrBadSort, sort)
	}
	reviews := s.db.Collection(ReviewsCollection)
	total, err := reviews.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: count reviews: %w", err)
	}
	cur, err := reviews.Find(ctx, filter, options.Find().SetProjection(reviewFields).SetSort(order).
		SetSkip(int64(offset)).SetLimit(int64(limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: list reviews: %w", err)
	}
	out := []Review{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, fmt.Errorf("catalog: list reviews: %w", err)
	}
	return out, int(total), nil
}

// Reviews is the reviews collection, for the outbox publisher and relay.
func (s *Store) Reviews() *mongo.Collection { return s.db.Collection(ReviewsCollection) }

// RatingFact is what one review event says of a review's part in its
// product's rating, as of Revision. Deleted is final.
type RatingFact struct {
	ReviewID  string `bson:"_id"`
	ProductID string `bson:"productId"`
	Rating    int64  `bson:"rating"`
	Visible   bool   `bson:"visible"`
	Deleted   bool   `bson:"deleted"`
	Revision  int64  `bson:"revision"`
}

// ApplyRating records f unless the review's record is as new or newer (a
// deletion is newer than anything), then recounts the product's rating
// from the records and returns it. Events may come in any order and any
// number of times: the records end the same, and so does the rating.
//
// The recount writes the product's rating only if its ratingStamp is still
// the one read before the count (retried otherwise), so a recount that read
// fewer records can never overwrite one that read more.
func (s *Store) ApplyRating(ctx context.Context, f RatingFact) (Rating, error) {
	if f.Deleted {
		f.Revision = math.MaxInt64
	}
	if err := s.recordRating(ctx, f); err != nil {
		return Rating{}, err
	}
	return s.recount(ctx, f.ProductID)
}

func (s *Store) recordRating(ctx context.Context, f RatingFact) error {
	ratings := s.db.Collection(RatingsCollection)
	for range maxTries {
		var have RatingFact
		err := ratings.FindOne(ctx, bson.D{{Key: "_id", Value: f.ReviewID}}).Decode(&have)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			_, err := ratings.InsertOne(ctx, f)
			if err == nil {
				return nil
			}
			if !mongostore.IsDuplicateKey(err) {
				return fmt.Errorf("catalog: rating of review %s: %w", f.ReviewID, err)
			}
			continue // another delivery inserted it: compare with that
		case err != nil:
			return fmt.Errorf("catalog: rating of review %s: %w", f.ReviewID, err)
		case have.Revision >= f.Revision:
			return nil // as new or newer already
		}
		res, err := ratings.UpdateOne(ctx, bson.D{{Key: "_id", Value: f.ReviewID}, {Key: "revision", Value: have.Revision}},
			bson.D{{Key: "$set", Value: bson.D{
				{Key: "productId", Value: f.ProductID}, {Key: "rating", Value: f.Rating}, {Key: "visible", Value: f.Visible},
				{Key: "deleted", Value: f.Deleted}, {Key: "revision", Value: f.Revision},
			}}})
		if err != nil {
			return fmt.Errorf("catalog: rating of review %s: %w", f.ReviewID, err)
		}
		if res.MatchedCount == 1 {
			return nil
		}
	}
	return fmt.Errorf("catalog: rating of review %s: %w", f.ReviewID, ErrConflict)
}

func (s *Store) recount(ctx context.Context, productID string) (Rating, error) {
	ratings := s.db.Collection(RatingsCollection)
	for try := range maxTries {
		if try > 0 { // another recount won: let the crowd thin out
			time.Sleep(time.Duration(1+rand.IntN(2*try)) * time.Millisecond)
		}
		var p struct {
			Stamp int64 `bson:"ratingStamp"`
		}
		err := s.products.FindOne(ctx, bson.D{{Key: "_id", Value: productID}},
			options.FindOne().SetProjection(bson.D{{Key: "ratingStamp", Value: 1}})).Decode(&p)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return Rating{}, nil // no such product: nothing to rate
		}
		if err != nil {
			return Rating{}, fmt.Errorf("catalog: recount %s: %w", productID, err)
		}
		cur, err := ratings.Find(ctx, bson.D{{Key: "productId", Value: productID}, {Key: "visible", Value: true}, {Key: "deleted", Value: false}},
			options.Find().SetProjection(bson.D{{Key: "rating", Value: 1}}))
		if err != nil {
			return Rating{}, fmt.Errorf("catalog: recount %s: %w", productID, err)
		}
		var facts []RatingFact
		if err := cur.All(ctx, &facts); err != nil {
			return Rating{}, fmt.Errorf("catalog: recount %s: %w", productID, err)
		}
		var sum int64
		for _, f := range facts {
			sum += f.Rating
		}
		r := Rating{Count: int64(len(facts))}
		if r.Count > 0 {
			r.Average = math.Round(float64(sum)/float64(r.Count)*100) / 100
		}
		stamp := bson.E{Key: "ratingStamp", Value: p.Stamp}
		if p.Stamp == 0 {
			stamp = absent("ratingStamp")
		}
		res, err := s.products.UpdateOne(ctx, bson.D{{Key: "_id", Value: productID}, stamp},
			bson.D{{Key: "$set", Value: bson.D{{Key: "rating", Value: r}, {Key: "ratingStamp", Value: p.Stamp + 1}}}})
		if err != nil {
			return Rating{}, fmt.Errorf("catalog: recount %s: %w", productID, err)
		}
		if res.MatchedCount == 1 {
			return r, nil
		}
	}
	return Rating{}, fmt.Errorf("catalog: recount %s: %w", productID, ErrConflict)
}
