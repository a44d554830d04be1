package outbox

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/sink"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MongoField is the document field that holds pending events, keyed by
// event id: {"outbox": {"<eventId>": {"seq": ..., "time": ..., "event": "..."}}}.
const MongoField = "outbox"

// mongoEntry is one pending event inside a document.
type mongoEntry struct {
	Seq   int64     `bson:"seq"`
	Time  time.Time `bson:"time"`
	Event string    `bson:"event"` // structured JSON, kept as a string so it survives byte for byte
}

// lastSeq keeps seq increasing within the process even when the clock does
// not move between two calls.
var lastSeq atomic.Int64

func nextSeq() int64 {
	for {
		now, last := time.Now().UnixNano(), lastSeq.Load()
		if now <= last {
			now = last + 1
		}
		if lastSeq.CompareAndSwap(last, now) {
			return now
		}
	}
}

// MongoSet returns the $set entries that store evs in a document. Merge them
// into the $set of the update that makes the change, so both are written by
// one single-document update (MongoDB and FerretDB make that atomic without
// transactions):
//
//	set, err := outbox.MongoSet(ev)
//	set["stock"] = 4
//	coll.UpdateOne(ctx, filter, bson.M{"$set": set})
func MongoSet(evs ...event.Event) (bson.M, error) {
	set := bson.M{}
	now := time.Now().UTC()
	for _, e := range evs {
		b, err := encode(e)
		if err != nil {
			return nil, err
		}
		set[entryPath(e.ID())] = mongoEntry{Seq: nextSeq(), Time: now, Event: string(b)}
	}
	return set, nil
}

// entryPath is the dotted path of an event's entry. Ids with characters
// that mean something in a path ('.', '$') are hex-encoded.
func entryPath(id string) string {
	if id == "" || strings.ContainsAny(id, ".$") {
		id = "x" + hex.EncodeToString([]byte(id))
	}
	return MongoField + "." + id
}

// Mongo publishes and relays the outbox entries of one collection.
type Mongo struct {
	coll *mongo.Collection
	sender
}

// WithSetAside makes Relay hand an event the Broker refuses for good to f
// and go on, instead of stopping at it.
func (o *Mongo) WithSetAside(f SetAside) *Mongo { o.setAside = f; return o }

// NewMongo returns the outbox of coll, sending to s.
func NewMongo(coll *mongo.Collection, s sink.Sender, log *slog.Logger) *Mongo {
	return &Mongo{coll: coll, sender: sender{sink: s, log: log}}
}

// Publish sends evs, which the update of document docID stored with
// MongoSet, and removes each sent entry. It stops at the first failure and
// only logs it: the change is written, Relay sends what is left.
func (o *Mongo) Publish(ctx context.Context, docID any, evs ...event.Event) {
	ctx = context.WithoutCancel(ctx)
	o.publishFast(ctx, evs, func(ctx context.Context, ids []string) error { return o.markSent(ctx, docID, ids...) })
	if err := o.tidy(ctx, docID); err != nil {
		o.log.WarnContext(ctx, "outbox: tidy", "err", err)
	}
}

// relayScan caps how many documents with pending events one Relay reads.
// Pending events are few (the fast path sends nearly all), and they must all
// be read to find the oldest.
const relayScan = 1000

// Relay sends up to limit pending events of the collection, oldest first,
// removing each sent one. It stops at the first failure and returns how many
// it sent.
func (o *Mongo) Relay(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	pending, err := o.pending(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, p := range pending {
		if sent == limit {
			break
		}
		e, err := decode([]byte(p.entry.Event))
		if err != nil {
			return sent, fmt.Errorf("outbox: relay %v: %w", p.docID, err)
		}
		aside, err := o.sendOrSetAside(ctx, e)
		if err != nil {
			return sent, fmt.Errorf("outbox: relay %s: %w", e.ID(), err)
		}
		if err := o.markSent(ctx, p.docID, e.ID()); err != nil {
			return sent, fmt.Errorf("outbox: relay %s: %w", e.ID(), err)
		}
		if !aside {
			sent++
		}
	}
	if err := o.tidyAll(ctx, pending); err != nil {
		return sent, fmt.Errorf("outbox: relay: %w", err)
	}
	return sent, nil
}

type mongoPending struct {
	docID any
	entry mongoEntry
}

// pending reads every pending entry of up to relayScan documents, oldest
// first. Documents whose outbox is already empty come back with no entries;
// Relay tidies them.
func (o *Mongo) pending(ctx context.Context) (out []mongoPending, err error) {
	cur, err := o.coll.Find(ctx,
		bson.M{MongoField: bson.M{"$exists": true}},
		options.Find().SetProjection(bson.M{MongoField: 1}).SetLimit(relayScan))
	if err != nil {
		return nil, fmt.Errorf("outbox: read pending: %w", err)
	}
	defer func() {
		if cerr := cur.Close(ctx); cerr != nil && err == nil {
			err = fmt.Errorf("outbox: read pending: %w", cerr)
		}
	}()
	for cur.Next(ctx) {
		var doc struct {
			ID     any                   `bson:"_id"`
			Outbox map[string]mongoEntry `bson:"outbox"`
		}
		if err := cur.Decode(&doc); err != nil {
			return nil, fmt.Errorf("outbox: read pending: %w", err)
		}
		if len(doc.Outbox) == 0 {
			out = append(out, mongoPending{docID: doc.ID})
			continue
		}
		for _, entry := range doc.Outbox {
			out = append(out, mongoPending{docID: doc.ID, entry: entry})
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("outbox: read pending: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].entry.Seq < out[j].entry.Seq })
	return out, nil
}

// tidyAll tidies every document pending names. An id may repeat: tidying
// is idempotent, and ids are not compared since an _id may be a document.
func (o *Mongo) tidyAll(ctx context.Context, pending []mongoPending) error {
	var errs []error
	for _, p := range pending {
		errs = append(errs, o.tidy(ctx, p.docID))
	}
	return errors.Join(errs...)
}

// markSent removes the entries of eventIDs from document docID, in one
// update.
func (o *Mongo) markSent(ctx context.Context, docID any, eventIDs ...string) error {
	unset := bson.M{}
	for _, id := range eventIDs {
		unset[entryPath(id)] = ""
	}
	if _, err := o.coll.UpdateOne(ctx, bson.M{"_id": docID}, bson.M{"$unset": unset}); err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	return nil
}

// tidy removes the outbox field of docID when it is empty, so Relay's
// $exists scan only finds documents with something to send. The match on
// the empty document keeps it from removing an entry written meanwhile.
func (o *Mongo) tidy(ctx context.Context, docID any) error {
	if _, err := o.coll.UpdateOne(ctx, bson.M{"_id": docID, MongoField: bson.M{}},
		bson.M{"$unset": bson.M{MongoField: ""}}); err != nil {
		return fmt.Errorf("tidy %v: %w", docID, err)
	}
	return nil
}
