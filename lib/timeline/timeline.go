// Package timeline is the life of each order in one place: every event
// about it that passed the Broker, every delivery of those events to a
// function (with its answer, duration and attempt), every dead letter, and
// every action of reconcile-orders. The function `timeline` writes it (it
// is subscribed to every event, and the runtimes report their deliveries
// to it directly); the admin function reads it for
// GET /api/admin/orders/{id}/timeline.
//
// The timeline is for people looking at an order, not a source of truth:
// reports are sent best effort (a full buffer or a lost report drops an
// entry, counted in knshop_timeline_dropped_total), and entries older
// than the retention are purged.
package timeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/mongostore"
)

// Kind is what an entry records.
type Kind string

// The kinds of entries.
const (
	KindEvent      Kind = "event"       // an event about the order passed the Broker
	KindDelivery   Kind = "delivery"    // a function was given one of those events
	KindDeadLetter Kind = "dead-letter" // an event exhausted its retries
	KindReconcile  Kind = "reconcile"   // reconcile-orders acted on the order
)

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindEvent, KindDelivery, KindDeadLetter, KindReconcile:
		return true
	}
	return false
}

// Entry is one line of an order's timeline.
type Entry struct {
	ID      string         `json:"id"`      // unique; a repeated report of it is recorded once
	OrderID string         `json:"orderId"` // the order (the events' partition key)
	At      time.Time      `json:"at"`
	Kind    Kind           `json:"kind"`
	Type    string         `json:"type"`    // the event type, or the reconcile action
	EventID string         `json:"eventId"` // the event's id; empty for a reconcile action
	Source  string         `json:"source"`  // the event's source, or the reporting function
	Detail  map[string]any `json:"detail"`  // by kind: docs/operations.md
}

// Limits of what is recorded.
const (
	maxKey    = 255
	maxSource = 1000
)

// EventEntry is the entry of an event that passed the Broker: about the
// order of its partition key, once per event (source and id).
func EventEntry(e event.Event, at time.Time) (Entry, bool) {
	key := OrderKey(e)
	if key == "" {
		return Entry{}, false
	}
	sum := sha256.Sum256([]byte(e.Source() + "\x00" + e.ID()))
	detail := map[string]any{}
	if s := e.Subject(); s != "" {
		detail["subject"] = s
	}
	t := e.Time()
	if t.IsZero() {
		t = at
	}
	return Entry{
		ID: "ev-" + hex.EncodeToString(sum[:16]), OrderID: key, At: t.UTC(), Kind: KindEvent,
		Type: e.Type(), EventID: e.ID(), Source: e.Source(), Detail: detail,
	}, true
}

// OrderKey is the order an event is about: its partition key (the order
// id for every event of the saga), else its subject.
func OrderKey(e event.Event) string {
	if k, ok := e.Extensions()[events.ExtPartitionKey].(string); ok && k != "" {
		return k
	}
	return e.Subject()
}

// Store is the timeline: one document per order in the operations
// MongoDB database's timeline collection, {_id: order id, entries: [...],
// updatedAt}. Reading an order is one lookup by _id; writing adds entries
// with $addToSet, so an entry recorded twice (a redelivered event) is kept
// once. The document is the order's own, bounded by the order's life: no
// document is shared between orders.
type Store struct {
	db   *mongo.Database
	coll *mongo.Collection
}

// Collection is the timeline's collection in the operations database.
const Collection = "timeline"

// ErrNotFound: the timeline has no entry for the order.
var ErrNotFound = errors.New("timeline: no entry for the order")

// Open opens the operations database c names and indexes updatedAt for
// the purge (where the server uses indexes).
func Open(ctx context.Context, c mongostore.Config) (*Store, error) {
	db, err := mongostore.Open(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	coll := db.Collection(Collection)
	useful, err := mongostore.QueriesUseIndexes(ctx, db)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("timeline: %w", err), mongostore.Close(ctx, db))
	}
	// The embedded FerretDB v1 would only pay for the index on each of the
	// many upserts, never use it (mongostore.QueriesUseIndexes).
	if useful {
		if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "updatedAt", Value: 1}}}); err != nil {
			return nil, errors.Join(fmt.Errorf("timeline: index: %w", err), mongostore.Close(ctx, db))
		}
	}
	return &Store{db: db, coll: coll}, nil
}

// Close releases the database.
func (s *Store) Close() error { return mongostore.Close(context.Background(), s.db) }

// doc is an entry as stored. Detail is kept as a bson.D with sorted keys,
// so the same entry always encodes the same and $addToSet can find it.
type doc struct {
	ID      string    `bson:"id"`
	At      time.Time `bson:"at"`
	Kind    string    `bson:"kind"`
	Type    string    `bson:"type"`
	EventID string    `bson:"eventId"`
	Source  string    `bson:"source"`
	Detail  bson.D    `bson:"detail"`
}

func docOf(e Entry) (doc, error) {
	if !e.Kind.Valid() || e.ID == "" || e.OrderID == "" || len(e.OrderID) > maxKey || len(e.ID) > 64 {
		return doc{}, fmt.Errorf("timeline: invalid entry %q (%s) of %q", e.ID, e.Kind, e.OrderID)
	}
	if len(e.Source) > maxSource {
		e.Source = e.Source[:maxSource]
	}
	detail := bson.D{}
	for _, k := range slices.Sorted(maps.Keys(e.Detail)) {
		detail = append(detail, bson.E{Key: k, Value: e.Detail[k]})
	}
	// Millisecond precision, as MongoDB stores dates: the same entry
	// written again must encode identically.
	return doc{ID: e.ID, At: e.At.UTC().Truncate(time.Millisecond), Kind: string(e.Kind), Type: e.Type,
		EventID: e.EventID, Source: e.Source, Detail: detail}, nil
}

// Record adds entries to their orders' documents: one update per order.
func (s *Store) Record(ctx context.Context, entries ...Entry) error {
	byOrder := map[string][]doc{}
	latest := map[string]time.Time{}
	var orders []string
	for _, e := range entries {
		d, err := docOf(e)
		if err != nil {
			return err
		}
		if _, ok := byOrder[e.OrderID]; !ok {
			orders = append(orders, e.OrderID)
		}
		byOrder[e.OrderID] = append(byOrder[e.OrderID], d)
		if d.At.After(latest[e.OrderID]) {
			latest[e.OrderID] = d.At
		}
	}
	now := time.Now().UTC()
	for _, order := range orders {
		_, err := s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: order}}, bson.D{
			{Key: "$addToSet", Value: bson.D{{Key: "entries", Value: bson.D{{Key: "$each", Value: byOrder[order]}}}}},
			{Key: "$set", Value: bson.D{{Key: "updatedAt", Value: now}}},
		}, options.UpdateOne().SetUpsert(true))
		if err != nil {
			return fmt.Errorf("timeline: record %d entries of %s: %w", len(byOrder[order]), order, err)
		}
	}
	return nil
}

// MaxEntries bounds one order's answer.
const MaxEntries = 1000

// ForOrder returns the order's entries oldest first (at most MaxEntries),
// each delivery numbered with its attempt: the how-manieth delivery of the
// same event to the same function.
func (s *Store) ForOrder(ctx context.Context, orderID string) ([]Entry, error) {
	var got struct {
		Entries []doc `bson:"entries"`
	}
	err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: orderID}}).Decode(&got)
	if errors.Is(err, mongo.ErrNoDocuments) || (err == nil && len(got.Entries) == 0) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("timeline: read %s: %w", orderID, err)
	}
	slices.SortStableFunc(got.Entries, func(a, b doc) int { return a.At.Compare(b.At) })
	if len(got.Entries) > MaxEntries {
		got.Entries = got.Entries[:MaxEntries]
	}
	out := make([]Entry, 0, len(got.Entries))
	attempts := map[string]int{}
	for _, d := range got.Entries {
		e := Entry{ID: d.ID, OrderID: orderID, At: d.At.UTC(), Kind: Kind(d.Kind), Type: d.Type, EventID: d.EventID, Source: d.Source, Detail: map[string]any{}}
		for _, kv := range d.Detail {
			e.Detail[kv.Key] = kv.Value
		}
		if e.Kind == KindDelivery {
			key := e.EventID + "\x00" + fmt.Sprint(e.Detail["function"])
			attempts[key]++
			e.Detail["attempt"] = attempts[key]
		}
		out = append(out, e)
	}
	return out, nil
}

// Purge deletes up to limit orders' timelines not written since before,
// and returns how many: bounded work for one tick.
func (s *Store) Purge(ctx context.Context, before time.Time, limit int) (int64, error) {
	cur, err := s.coll.Find(ctx, bson.D{{Key: "updatedAt", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return 0, fmt.Errorf("timeline: purge: %w", err)
	}
	var ids []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &ids); err != nil {
		return 0, fmt.Errorf("timeline: purge: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	keys := make([]string, len(ids))
	for i, d := range ids {
		keys[i] = d.ID
	}
	res, err := s.coll.DeleteMany(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}},
		{Key: "updatedAt", Value: bson.D{{Key: "$lt", Value: before.UTC()}}},
	})
	if err != nil {
		return 0, fmt.Errorf("timeline: purge: %w", err)
	}
	return res.DeletedCount, nil
}
