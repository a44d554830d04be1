package auth

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// attemptsCollection holds the login failure counters. Keeping them in the
// database, not in memory, makes the limit hold across every instance.
const attemptsCollection = "login_attempts"

// limiter counts login attempts per key in fixed windows: one document per
// key and window, incremented atomically with an upsert.
type limiter struct {
	coll      *mongo.Collection
	window    time.Duration
	lastSweep atomic.Int64 // unix seconds
}

// newLimiter returns the limiter; ttl reports whether the server drops old
// windows itself (a TTL index: MongoDB yes, FerretDB v1 no). Without it,
// sweep does the cleaning.
func newLimiter(ctx context.Context, db *mongo.Database, window time.Duration) (l *limiter, ttl bool) {
	l = &limiter{coll: db.Collection(attemptsCollection), window: window}
	_, err := l.coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "expiresAt", Value: 1}},
		Options: options.Index().SetExpireAfterSeconds(0).SetName("expires"),
	})
	return l, err == nil
}

// sweep deletes the counters of finished windows, at most once a window.
func (l *limiter) sweep(ctx context.Context, now time.Time) error {
	last := l.lastSweep.Load()
	if now.Unix()-last < int64(l.window/time.Second) || !l.lastSweep.CompareAndSwap(last, now.Unix()) {
		return nil
	}
	if _, err := l.coll.DeleteMany(ctx, bson.M{"expiresAt": bson.M{"$lte": now}}); err != nil {
		return fmt.Errorf("auth: sweep login attempts: %w", err)
	}
	return nil
}

// take counts one attempt for key in the current window. It answers the
// time to wait when the attempt is over limit, else 0. Counting before
// the password is checked keeps concurrent attempts from all slipping
// under the limit; release gives the attempt back when it succeeded.
func (l *limiter) take(ctx context.Context, key string, limit int64, now time.Time) (time.Duration, error) {
	start := now.Truncate(l.window)
	end := start.Add(l.window)
	var doc struct {
		Count int64 `bson:"count"`
	}
	err := l.coll.FindOneAndUpdate(ctx, bson.M{"_id": l.id(key, start)},
		bson.M{"$inc": bson.M{"count": 1}, "$setOnInsert": bson.M{"expiresAt": end}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&doc)
	if err != nil {
		return 0, fmt.Errorf("auth: count login attempt: %w", err)
	}
	if doc.Count > limit {
		return end.Sub(now), nil
	}
	return 0, nil
}

// release takes back an attempt counted by take in the window of now.
func (l *limiter) release(ctx context.Context, key string, now time.Time) error {
	if _, err := l.coll.UpdateOne(ctx, bson.M{"_id": l.id(key, now.Truncate(l.window)), "count": bson.M{"$gt": 0}},
		bson.M{"$inc": bson.M{"count": -1}}); err != nil {
		return fmt.Errorf("auth: release login attempt: %w", err)
	}
	return nil
}

func (l *limiter) id(key string, start time.Time) string {
	return key + "@" + strconv.FormatInt(start.Unix(), 10)
}
