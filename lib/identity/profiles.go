package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sink"
)

// Address is one postal address of a profile.
type Address struct {
	ID         string `bson:"id" json:"id"`
	Label      string `bson:"label,omitempty" json:"label,omitempty"`
	Line1      string `bson:"line1" json:"line1"`
	Line2      string `bson:"line2,omitempty" json:"line2,omitempty"`
	City       string `bson:"city" json:"city"`
	PostalCode string `bson:"postalCode" json:"postalCode"`
	Country    string `bson:"country" json:"country"`
	IsDefault  bool   `bson:"isDefault" json:"isDefault"`
}

// Profile is a user's profile document. Preferences are a JSON object kept
// as its text, so it comes back exactly as it was sent.
type Profile struct {
	UserID      string     `bson:"_id"`
	Email       string     `bson:"email"`
	Name        string     `bson:"name"`
	Role        auth.Role  `bson:"role"`
	Addresses   []Address  `bson:"addresses"`
	Preferences string     `bson:"preferences"`
	CreatedAt   time.Time  `bson:"createdAt"`
	UpdatedAt   time.Time  `bson:"updatedAt"`
	Version     int64      `bson:"version"`
	DeletedAt   *time.Time `bson:"deletedAt,omitempty"`
}

// LogValue keeps personal data out of logs.
func (p Profile) LogValue() slog.Value {
	return slog.GroupValue(slog.String("userId", p.UserID), slog.Int64("version", p.Version))
}

// Profiles is the store of profile documents.
type Profiles struct {
	coll *mongo.Collection
	out  *outbox.Mongo
}

// OpenProfiles returns the profile store on db; events written with a
// change are published to s. With a nil s the store cannot Update.
func OpenProfiles(db *mongo.Database, s sink.Sender, log *slog.Logger) *Profiles {
	p := &Profiles{coll: db.Collection(ProfilesCollection)}
	if s != nil {
		p.out = outbox.NewMongo(p.coll, s, log)
	}
	return p
}

// Outbox is the outbox of the profiles collection, for the relay.
func (p *Profiles) Outbox() *outbox.Mongo { return p.out }

// Create inserts p unless a document for p.UserID exists (live or deleted),
// and reports whether it did. Creating twice, or concurrently, makes one.
func (p *Profiles) Create(ctx context.Context, pr Profile) (bool, error) {
	if pr.Addresses == nil {
		pr.Addresses = []Address{}
	}
	if pr.Preferences == "" {
		pr.Preferences = "{}"
	}
	res, err := p.coll.UpdateOne(ctx, bson.M{"_id": pr.UserID}, bson.M{"$setOnInsert": bson.M{
		"email": pr.Email, "name": pr.Name, "role": pr.Role, "addresses": pr.Addresses,
		"preferences": pr.Preferences, "createdAt": pr.CreatedAt, "updatedAt": pr.UpdatedAt, "version": pr.Version,
	}}, options.UpdateOne().SetUpsert(true))
	if mongostore.IsDuplicateKey(err) {
		return false, nil // a concurrent upsert inserted it first
	}
	if err != nil {
		return false, fmt.Errorf("identity: create profile: %w", err)
	}
	return res.UpsertedCount > 0, nil
}

// Get returns the live profile of userID; ErrNotFound when there is none or
// it was deleted.
func (p *Profiles) Get(ctx context.Context, userID string) (Profile, error) {
	pr, err := p.get(ctx, userID)
	if err != nil {
		return Profile{}, err
	}
	if pr.DeletedAt != nil {
		return Profile{}, ErrNotFound
	}
	return pr, nil
}

// Exists reports whether a document for userID exists, deleted or not.
func (p *Profiles) Exists(ctx context.Context, userID string) (bool, error) {
	_, err := p.get(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (p *Profiles) get(ctx context.Context, userID string) (Profile, error) {
	var pr Profile
	err := p.coll.FindOne(ctx, bson.M{"_id": userID}, options.FindOne().SetProjection(bson.M{outbox.MongoField: 0})).Decode(&pr)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Profile{}, ErrNotFound
	}
	if err != nil {
		return Profile{}, fmt.Errorf("identity: get profile: %w", err)
	}
	return pr, nil
}

// Change edits a profile in place and returns the events the edit causes,
// built from the edited profile. An error stops the update and is returned
// as is.
type Change func(pr *Profile) ([]event.Event, error)

// updateAttempts bounds the retries of a read-modify-write that keeps
// meeting concurrent writers.
const updateAttempts = 8

// Update applies change to the live profile of userID and writes the result
// with its events in one document update that succeeds only if nobody wrote
// the profile since it was read (its version); on a race it reads again and
// retries, up to a bound (then ErrBusy). The events are published after the
// write. It returns the profile as written.
func (p *Profiles) Update(ctx context.Context, userID string, change Change) (Profile, error) {
	if p.out == nil {
		return Profile{}, fmt.Errorf("identity: update profile: %w", ErrNoSink)
	}
	for range updateAttempts {
		pr, err := p.Get(ctx, userID)
		if err != nil {
			return Profile{}, err
		}
		read := pr.Version
		pr.Addresses = append([]Address(nil), pr.Addresses...)
		evs, err := change(&pr)
		if err != nil {
			return Profile{}, err
		}
		pr.Version = read + 1
		set, err := outbox.MongoSet(evs...)
		if err != nil {
			return Profile{}, fmt.Errorf("identity: update profile: %w", err)
		}
		if pr.Addresses == nil {
			pr.Addresses = []Address{}
		}
		set["email"], set["name"], set["role"] = pr.Email, pr.Name, pr.Role
		set["addresses"], set["preferences"] = pr.Addresses, pr.Preferences
		set["updatedAt"], set["version"] = pr.UpdatedAt, pr.Version
		if pr.DeletedAt != nil {
			set["deletedAt"] = *pr.DeletedAt
		}
		res, err := p.coll.UpdateOne(ctx,
			bson.M{"_id": userID, "version": read, "deletedAt": bson.M{"$exists": false}},
			bson.M{"$set": set})
		if err != nil {
			return Profile{}, fmt.Errorf("identity: update profile: %w", err)
		}
		if res.MatchedCount == 1 {
			p.out.Publish(ctx, userID, evs...)
			return pr, nil
		}
	}
	return Profile{}, ErrBusy
}
