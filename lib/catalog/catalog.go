// Package catalog is the product and stock store of knshop (MongoDB database
// "catalog"). A product's stock and the reservations in flight on it live in
// the product's document, so each stock step (reserve, give back, sell) is
// one conditional single-document update: correct on MongoDB without
// transactions, and on the embedded FerretDB v1, whose update operators are
// limited to dotted paths, $exists, $inc, $set and $unset.
//
// A product document:
//
//	{_id, sellerId, name, description, category, price{amount,currency},
//	 stock, reserved, sold, images, version, createdAt, updatedAt, deletedAt?,
//	 reservations: {<orderId>: {qty, t}},  // taken by a walk still deciding (t: its token)
//	 fin:          {<orderId>: qty},       // a committed reservation just sold or given back
//	 restocked:    {<returnId>: {q, at}},  // a return's units put back
//	 markers, markerEpoch,                 // how many fin/restocked markers; prunes
//	 outbox:       {<eventId>: ...}}       // PRODUCT_* not yet published
//
// stock is what can still be ordered; reserved and sold count the units held
// and sold. A product carries an order's reservation only while the walk
// that took it decides, and a fin marker only until the fact that backs it
// is written and the next prune (every PruneAbove markers) removes it: the
// document stays small however many orders are in flight or were ever sold.
//
// What makes the steps idempotent lives in the order's own records in the
// "holds" collection, each written once by an insert and read by _id: the
// request (the items), the decision (reserved, rejected or cancelled, with
// the token of each reservation it counted), the end (sold or cancelled)
// and, per product, the fact that its committed units were sold or given
// back. Each walk over the products marks the reservations it takes with a
// token of its own. Once the decision counts a reservation, the walk
// commits it: the reservation leaves the product and its units stay in
// reserved, recorded by the decision and the request. A walk that finds
// the order decided without its token took units late (a duplicate) and
// gives them back through its own reservation. Committed units leave
// reserved once, through finishCommitted (stock.go). Restocked markers of
// returns are pruned once the return's fact exists and they are older than
// MarkerRetention.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/knshop/knshop/lib/mongostore"
)

// Database is the MongoDB database the catalog lives in.
const Database = "catalog"

// Collection names.
const (
	ProductsCollection = "products"
	HoldsCollection    = "holds"
)

// Errors of the catalog domain.
var (
	// ErrNotFound: no such product, or it was deleted.
	ErrNotFound = errors.New("catalog: not found")
	// ErrConflict: the product kept changing under a write; try again.
	ErrConflict = errors.New("catalog: concurrent change")
	// ErrInvalidID: an order id that cannot be used as a field name.
	ErrInvalidID = errors.New("catalog: invalid id")
	// ErrNotReserved: settling an order's product that holds no reservation.
	ErrNotReserved = errors.New("catalog: nothing reserved")
	// ErrReleased: settling a reservation that was already given back.
	ErrReleased = errors.New("catalog: reservation was released")
	// ErrNotOpen: a Store that was never opened (its function has not
	// started).
	ErrNotOpen = errors.New("catalog: not open")
)

// maxTries bounds the optimistic loops: a conditional update that misses
// because the document changed between read and write is tried again.
const maxTries = 20

// Marker pruning (see the package doc).
const (
	// MarkerRetention is how long a restocked marker is kept (and a legacy
	// released or settled one, written by versions before the holds' end
	// facts). Fin markers go as soon as their fact exists.
	MarkerRetention = 2 * time.Minute
	// PruneAbove is the number of markers on a product past which a finish
	// or a restock prunes those that may go. Each marker is about 40 bytes
	// that every update of the product reads and writes again: 16 rather
	// than 64 took the hot product's updates from 6.8 to 4.5 ms under load
	// (docs/benchmarks.md), for one more prune every 16 orders.
	PruneAbove = 16
)

// Store reads and writes products, stock and holds.
type Store struct {
	db       *mongo.Database
	products *mongo.Collection
	// reads is the products collection for reads only, and holds is only
	// ever inserted into and read: both go through a client that need not
	// be serialized (mongostore.OpenConcurrent), so they do not queue
	// behind the products' updates on the embedded FerretDB.
	reads *mongo.Collection
	holds *mongo.Collection
	// purchaseInserts is the purchases collection through the same client,
	// for the inserts of RecordPurchase (one an order): a unique _id
	// decides a race, so they need not queue behind the products' updates.
	purchaseInserts *mongo.Collection
	// owned: Open made the client, so Close disconnects it (not so for the
	// process's shared serialized client, nor for a db given to New).
	owned bool
	// retention and pruneAbove: MarkerRetention and PruneAbove (tests
	// shorten them).
	retention  time.Duration
	pruneAbove int64
	// pruning holds the products this process is pruning now: a prune
	// reads one fact per marker, and under load every finish past
	// pruneAbove would start its own (docs/benchmarks.md), so a finish
	// that finds one running leaves the pruning to it.
	pruning sync.Map
}

// Open connects to the catalog database described by c and makes sure its
// indexes exist (idempotent).
func Open(ctx context.Context, c mongostore.Config) (*Store, error) {
	db, err := mongostore.Open(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("catalog: open: %w", err)
	}
	other := db
	if c.Serialize {
		if other, err = mongostore.OpenConcurrent(ctx, c); err != nil {
			return nil, fmt.Errorf("catalog: open: %w", err)
		}
	}
	s, err := newStore(ctx, db, other)
	if err != nil {
		return nil, err
	}
	s.owned = !c.Serialize
	return s, nil
}

// New uses db for the catalog and makes sure its indexes exist.
func New(ctx context.Context, db *mongo.Database) (*Store, error) { return newStore(ctx, db, db) }

// newStore uses db for the catalog's updates and concurrent for its inserts
// and reads (the same database, perhaps through another client).
func newStore(ctx context.Context, db, concurrent *mongo.Database) (*Store, error) {
	s := &Store{db: db, products: db.Collection(ProductsCollection), reads: concurrent.Collection(ProductsCollection),
		holds: concurrent.Collection(HoldsCollection), purchaseInserts: concurrent.Collection(PurchasesCollection), retention: MarkerRetention, pruneAbove: PruneAbove}
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// schemaVersion names what prepare puts in place: the collections' indexes
// and the migrations. Raise it when productIndexes, reviewIndexes,
// ratingIndexes or a migration change.
const schemaVersion = 1

// prepare makes sure the indexes and the migrations are in place, unless
// the migrations record says an earlier Open put this schema version in
// place for this kind of server: a function's start then costs two round
// trips (the server's kind, the record) rather than one per collection and
// migration (docs/benchmarks.md, cold start).
func (s *Store) prepare(ctx context.Context) error {
	useful, err := mongostore.QueriesUseIndexes(ctx, s.db)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	mark := fmt.Sprintf("%d/indexes:%t", schemaVersion, useful)
	var rec struct {
		Ran    []string `bson:"ran"`
		Schema string   `bson:"schema"`
	}
	err = s.holds.FindOne(ctx, bson.D{{Key: "_id", Value: migrationsID}}).Decode(&rec)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("catalog: migrations: %w", err)
	}
	if rec.Schema == mark {
		return nil
	}
	if err := s.ensureIndexes(ctx, useful); err != nil {
		return err
	}
	if err := s.migrateCancellations(ctx, rec.Ran); err != nil {
		return err
	}
	return s.noteMigrations(ctx, bson.D{{Key: "$set", Value: bson.D{{Key: "schema", Value: mark}}}})
}

// index is one index a collection must have.
type index struct {
	name string
	keys bson.D
}

// productIndexes serve the list route's filters and sorts.
var productIndexes = []index{
	{"category_1", bson.D{{Key: "category", Value: 1}}},
	{"price.amount_1", bson.D{{Key: "price.amount", Value: 1}}},
	{"createdAt_-1", bson.D{{Key: "createdAt", Value: -1}}},
	{"sellerId_1", bson.D{{Key: "sellerId", Value: 1}}},
	{"name_1", bson.D{{Key: "name", Value: 1}}},
	{"rating.average_-1", bson.D{{Key: "rating.average", Value: -1}}},
}

// ensureIndexes creates the missing indexes of the products, reviews and
// ratings collections; on a server whose queries use no secondary index
// (the embedded FerretDB v1) it drops them instead, since there they only
// slow every stock step down (each index re-reads the product on write:
// BenchmarkHotProductInFlight went from 22 to 36 orders/s without them).
func (s *Store) ensureIndexes(ctx context.Context, useful bool) error {
	for coll, specs := range map[*mongo.Collection][]index{
		s.products: productIndexes, s.db.Collection(ReviewsCollection): reviewIndexes,
		s.db.Collection(RatingsCollection): ratingIndexes,
	} {
		ensureOrDrop := ensure
		if !useful {
			ensureOrDrop = drop
		}
		if err := ensureOrDrop(ctx, coll, specs); err != nil {
			return err
		}
	}
	return nil
}

// drop removes those of specs coll has (made by a run before the server
// was known to ignore them).
func drop(ctx context.Context, coll *mongo.Collection, specs []index) error {
	have, err := indexNames(ctx, coll)
	if err != nil {
		return err
	}
	for _, ix := range specs {
		if !have[ix.name] {
			continue
		}
		if err := coll.Indexes().DropOne(ctx, ix.name); err != nil {
			// Another function starting at the same time may have
			// dropped it between our look and our drop.
			if again, lerr := indexNames(ctx, coll); lerr == nil && !again[ix.name] {
				continue
			}
			return fmt.Errorf("catalog: drop index %s of %s: %w", ix.name, coll.Name(), err)
		}
	}
	return nil
}

// ensure creates the missing indexes of coll only: FerretDB v1 drops the
// connection when asked to create an index that already exists (measured).
func ensure(ctx context.Context, coll *mongo.Collection, specs []index) error {
	missing, err := missingIndexes(ctx, coll, specs)
	if err != nil || len(missing) == 0 {
		return err
	}
	if _, err := coll.Indexes().CreateMany(ctx, missing); err != nil {
		// Another function starting at the same time may have created
		// them between our look and our create.
		if again, lerr := missingIndexes(ctx, coll, specs); lerr == nil && len(again) == 0 {
			return nil
		}
		return fmt.Errorf("catalog: create indexes of %s: %w", coll.Name(), err)
	}
	return nil
}

func missingIndexes(ctx context.Context, coll *mongo.Collection, specs []index) ([]mongo.IndexModel, error) {
	have, err := indexNames(ctx, coll)
	if err != nil {
		return nil, err
	}
	var missing []mongo.IndexModel
	for _, ix := range specs {
		if !have[ix.name] {
			missing = append(missing, mongo.IndexModel{Keys: ix.keys, Options: options.Index().SetName(ix.name)})
		}
	}
	return missing, nil
}

// indexNames lists the names of coll's indexes (none before the collection
// exists).
func indexNames(ctx context.Context, coll *mongo.Collection) (map[string]bool, error) {
	have := map[string]bool{}
	list, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		var ce mongo.CommandError
		if !errors.As(err, &ce) || ce.Code != 26 { // 26 NamespaceNotFound: no collection yet
			return nil, fmt.Errorf("catalog: list indexes of %s: %w", coll.Name(), err)
		}
	}
	for _, sp := range list {
		have[sp.Name] = true
	}
	return have, nil
}

// Products is the products collection, for the outbox publisher and relay.
func (s *Store) Products() *mongo.Collection { return s.products }

// orderKey accepts ids made of letters, digits, '-' and '_' only, so an
// order id can never turn a dotted path into an operator or a sub-path; at
// most 64 of them (checked apart: a counted repeat in the regexp compiles
// into hundreds of states at every process start).
var orderKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func checkOrderID(orderID string) error {
	if len(orderID) > 64 || !orderKey.MatchString(orderID) {
		return fmt.Errorf("%w: order id %q", ErrInvalidID, orderID)
	}
	return nil
}
