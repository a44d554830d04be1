package catalog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/knshop/knshop/lib/money"
)

// Product is a product as sellers and buyers see it, plus its stock counters.
type Product struct {
	ID          string      `bson:"_id"`
	SellerID    string      `bson:"sellerId"`
	Name        string      `bson:"name"`
	Description string      `bson:"description"`
	Category    string      `bson:"category"`
	Price       money.Money `bson:"price"`
	Stock       int64       `bson:"stock"`
	Reserved    int64       `bson:"reserved"`
	Sold        int64       `bson:"sold"`
	Images      []string    `bson:"images"`
	// Rating is kept by rate-product over the visible reviews.
	Rating    Rating     `bson:"rating"`
	Version   int64      `bson:"version"`
	CreatedAt time.Time  `bson:"createdAt"`
	UpdatedAt time.Time  `bson:"updatedAt"`
	DeletedAt *time.Time `bson:"deletedAt,omitempty"`
}

// Extra is more $set entries written in the same update as a product change:
// the outbox entries of the events the change causes.
type Extra = bson.M

// productFields projects a product without its per-order maps and outbox,
// which grow with every order and are not part of what a reader sees.
var productFields = bson.D{
	{Key: "reservations", Value: 0}, {Key: "released", Value: 0},
	{Key: "settled", Value: 0}, {Key: "restocked", Value: 0}, {Key: "outbox", Value: 0},
}

// Now is the store's clock at the precision MongoDB keeps (milliseconds), so
// what a caller puts in an event equals what is read back.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// Create stores p (version 1) together with extra in one insert.
func (s *Store) Create(ctx context.Context, p Product, extra Extra) error {
	if p.Images == nil {
		p.Images = []string{}
	}
	if err := insertWith(ctx, s.products, p.ID, p, extra); err != nil {
		return fmt.Errorf("catalog: create %s: %w", p.ID, err)
	}
	return nil
}

// insertWith inserts v (whose _id is id) with extra's fields, in one write.
// It is an upsert rather than an insert: $setOnInsert accepts the outbox's
// dotted paths, and a new id cannot match an existing document (an id
// taken is ErrConflict).
func insertWith(ctx context.Context, coll *mongo.Collection, id string, v any, extra Extra) error {
	set := bson.M{}
	for k, v := range extra {
		set[k] = v
	}
	raw, err := bson.Marshal(v)
	if err != nil {
		return err
	}
	var fields bson.M
	if err := bson.Unmarshal(raw, &fields); err != nil {
		return err
	}
	delete(fields, "_id")
	for k, v := range fields {
		set[k] = v
	}
	res, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$setOnInsert", Value: set}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return err
	}
	if res.UpsertedCount != 1 {
		return fmt.Errorf("%w: id taken", ErrConflict)
	}
	return nil
}

// Get returns the product id unless it does not exist or was deleted.
func (s *Store) Get(ctx context.Context, id string) (Product, error) {
	var p Product
	err := s.products.FindOne(ctx, live(id), options.FindOne().SetProjection(productFields)).Decode(&p)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Product{}, fmt.Errorf("catalog: get %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Product{}, fmt.Errorf("catalog: get %s: %w", id, err)
	}
	return p, nil
}

func live(id string) bson.D {
	return bson.D{{Key: "_id", Value: id}, {Key: "deletedAt", Value: bson.D{{Key: "$exists", Value: false}}}}
}

// Modify changes the live product id: it reads it, lets change edit it
// (Version already bumped, UpdatedAt set; setting DeletedAt deletes it) and
// writes the result together with the returned extra in one update that
// matches only the version and stock it read. When the product changed in
// between, it reads again and calls change again. It returns the product as
// written.
func (s *Store) Modify(ctx context.Context, id string, change func(p *Product) (Extra, error)) (Product, error) {
	for range maxTries {
		cur, err := s.Get(ctx, id)
		if err != nil {
			return Product{}, err
		}
		next := cur
		next.Images = append([]string(nil), cur.Images...)
		next.Version = cur.Version + 1
		next.UpdatedAt = Now()
		extra, err := change(&next)
		if err != nil {
			return Product{}, err
		}
		if next.Stock < 0 {
			return Product{}, fmt.Errorf("catalog: modify %s: negative stock", id)
		}
		if next.Images == nil {
			next.Images = []string{}
		}
		set := bson.M{
			"name": next.Name, "description": next.Description, "category": next.Category,
			"price": next.Price, "stock": next.Stock, "images": next.Images,
			"version": next.Version, "updatedAt": next.UpdatedAt,
		}
		if next.DeletedAt != nil {
			set["deletedAt"] = *next.DeletedAt
		}
		for k, v := range extra {
			set[k] = v
		}
		filter := append(live(id), bson.E{Key: "version", Value: cur.Version}, bson.E{Key: "stock", Value: cur.Stock})
		res, err := s.products.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: set}})
		if err != nil {
			return Product{}, fmt.Errorf("catalog: modify %s: %w", id, err)
		}
		if res.MatchedCount == 1 {
			return next, nil
		}
	}
	return Product{}, fmt.Errorf("catalog: modify %s: %w", id, ErrConflict)
}

// Sort orders of a product list.
const (
	SortNewest    = "-createdAt"
	SortPrice     = "price"
	SortPriceDesc = "-price"
	SortName      = "name"
	SortRating    = "-rating"
)

// Query selects live products. Zero fields do not filter.
type Query struct {
	Text     string // case-insensitive substring of name or description
	Category string
	SellerID string
	MinPrice *int64 // minor units
	MaxPrice *int64
	InStock  bool
	// MinRating keeps products whose average rating is at least this.
	MinRating *float64
	Sort      string // one of the Sort constants; SortNewest when empty
	Offset    int
	Limit     int
}

// List returns one page of the products q selects and how many it selects
// in all.
func (s *Store) List(ctx context.Context, q Query) ([]Product, int, error) {
	filter := bson.D{{Key: "deletedAt", Value: bson.D{{Key: "$exists", Value: false}}}}
	if q.Text != "" {
		// The text is quoted: it matches literally and is never an operator.
		re := bson.Regex{Pattern: regexp.QuoteMeta(q.Text), Options: "i"}
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "name", Value: re}}, bson.D{{Key: "description", Value: re}},
		}})
	}
	if q.Category != "" {
		filter = append(filter, bson.E{Key: "category", Value: q.Category})
	}
	if q.SellerID != "" {
		filter = append(filter, bson.E{Key: "sellerId", Value: q.SellerID})
	}
	price := bson.D{}
	if q.MinPrice != nil {
		price = append(price, bson.E{Key: "$gte", Value: *q.MinPrice})
	}
	if q.MaxPrice != nil {
		price = append(price, bson.E{Key: "$lte", Value: *q.MaxPrice})
	}
	if len(price) > 0 {
		filter = append(filter, bson.E{Key: "price.amount", Value: price})
	}
	if q.InStock {
		filter = append(filter, bson.E{Key: "stock", Value: bson.D{{Key: "$gt", Value: 0}}})
	}
	if q.MinRating != nil {
		filter = append(filter, bson.E{Key: "rating.average", Value: bson.D{{Key: "$gte", Value: *q.MinRating}}})
	}
	sort, err := sortSpec(q.Sort)
	if err != nil {
		return nil, 0, err
	}
	total, err := s.products.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: count: %w", err)
	}
	opts := options.Find().SetProjection(productFields).SetSort(sort).
		SetSkip(int64(q.Offset)).SetLimit(int64(q.Limit))
	cur, err := s.products.Find(ctx, filter, opts)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: list: %w", err)
	}
	var out []Product
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, fmt.Errorf("catalog: list: %w", err)
	}
	return out, int(total), nil
}

// ErrBadSort is returned for a sort order List does not know.
var ErrBadSort = errors.New("catalog: unknown sort")

func sortSpec(s string) (bson.D, error) {
	var first bson.E
	switch s {
	case "", SortNewest:
		first = bson.E{Key: "createdAt", Value: -1}
	case SortPrice:
		first = bson.E{Key: "price.amount", Value: 1}
	case SortPriceDesc:
		first = bson.E{Key: "price.amount", Value: -1}
	case SortName:
		first = bson.E{Key: "name", Value: 1}
	case SortRating:
		first = bson.E{Key: "rating.average", Value: -1}
	default:
		return nil, fmt.Errorf("%w: %q", ErrBadSort, s)
	}
	// _id breaks ties so pages never overlap.
	return bson.D{first, {Key: "_id", Value: 1}}, nil
}
