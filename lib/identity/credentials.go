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

// Credential is what the auth function knows of an account.
type Credential struct {
	UserID       string    `bson:"_id"`
	Email        string    `bson:"email"` // normalized
	Name         string    `bson:"name"`
	PasswordHash string    `bson:"passwordHash"`
	Role         auth.Role `bson:"role"`
	CreatedAt    time.Time `bson:"createdAt"`
}

// LogValue keeps the password hash and the email out of logs.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("userId", c.UserID), slog.String("role", string(c.Role)))
}

// RefreshToken is a stored refresh token. Only its SHA-256 hash is kept.
// Tokens of one login share a Family; rotation adds to the family.
type RefreshToken struct {
	Hash      string     `bson:"_id"`
	Family    string     `bson:"family"`
	UserID    string     `bson:"userId"`
	CreatedAt time.Time  `bson:"createdAt"`
	ExpiresAt time.Time  `bson:"expiresAt"`
	UsedAt    *time.Time `bson:"usedAt,omitempty"`
	RevokedAt *time.Time `bson:"revokedAt,omitempty"`
}

// Credentials is the store of accounts and refresh tokens.
type Credentials struct {
	creds  *mongo.Collection
	tokens *mongo.Collection
	out    *outbox.Mongo
}

// OpenCredentials returns the store on db and makes its indexes: emails are
// unique, tokens are found by family and by user. Events written with a
// change are published to s; with a nil s the store cannot Create.
func OpenCredentials(ctx context.Context, db *mongo.Database, s sink.Sender, log *slog.Logger) (*Credentials, error) {
	c := &Credentials{creds: db.Collection(CredentialsCollection), tokens: db.Collection(RefreshTokensCollection)}
	if s != nil {
		c.out = outbox.NewMongo(c.creds, s, log)
	}
	if _, err := c.creds.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true).SetName("email_unique"),
	}); err != nil {
		return nil, fmt.Errorf("identity: credentials index: %w", err)
	}
	// One index per call: FerretDB v1 drops the connection when a
	// createIndexes of several indexes finds them already there.
	for _, m := range []mongo.IndexModel{
		{Keys: bson.D{{Key: "family", Value: 1}}, Options: options.Index().SetName("family")},
		{Keys: bson.D{{Key: "userId", Value: 1}}, Options: options.Index().SetName("user")},
	} {
		if _, err := c.tokens.Indexes().CreateOne(ctx, m); err != nil {
			return nil, fmt.Errorf("identity: refresh token indexes: %w", err)
		}
	}
	return c, nil
}

// Outbox is the outbox of the credentials collection, for the relay.
func (c *Credentials) Outbox() *outbox.Mongo { return c.out }

// Create stores a new account together with its events (USER_REGISTERED) in
// one document write, then publishes them. An account with the same email
// is ErrEmailTaken; so is losing a race for the email, which the unique
// index decides.
func (c *Credentials) Create(ctx context.Context, cred Credential, evs ...event.Event) error {
	if c.out == nil {
		return fmt.Errorf("identity: create credential: %w", ErrNoSink)
	}
	doc, err := outbox.MongoSet(evs...)
	if err != nil {
		return fmt.Errorf("identity: create credential: %w", err)
	}
	doc["_id"] = cred.UserID
	doc["name"] = cred.Name
	doc["passwordHash"] = cred.PasswordHash
	doc["role"] = cred.Role
	doc["createdAt"] = cred.CreatedAt
	// An upsert keyed by email inserts only when the email is free; a match
	// means it is taken. The document and its outbox entries land together.
	res, err := c.creds.UpdateOne(ctx, bson.M{"email": cred.Email}, bson.M{"$setOnInsert": doc}, options.UpdateOne().SetUpsert(true))
	switch {
	case mongostore.IsDuplicateKey(err):
		return ErrEmailTaken
	case err != nil:
		return fmt.Errorf("identity: create credential: %w", err)
	case res.UpsertedCount == 0:
		return ErrEmailTaken
	}
	c.out.Publish(ctx, cred.UserID, evs...)
	return nil
}

// ByEmail returns the account of a normalized email, or ErrNotFound.
func (c *Credentials) ByEmail(ctx context.Context, email string) (Credential, error) {
	return c.find(ctx, bson.M{"email": email})
}

// ByID returns the account of userID, or ErrNotFound.
func (c *Credentials) ByID(ctx context.Context, userID string) (Credential, error) {
	return c.find(ctx, bson.M{"_id": userID})
}

func (c *Credentials) find(ctx context.Context, filter bson.M) (Credential, error) {
	var cred Credential
	err := c.creds.FindOne(ctx, filter, options.FindOne().SetProjection(bson.M{outbox.MongoField: 0})).Decode(&cred)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Credential{}, ErrNotFound
	}
	if err != nil {
		return Credential{}, fmt.Errorf("identity: find credential: %w", err)
	}
	return cred, nil
}

// SetRole changes the role of userID's account; ErrNotFound if none.
func (c *Credentials) SetRole(ctx context.Context, userID string, role auth.Role) error {
	res, err := c.creds.UpdateOne(ctx, bson.M{"_id": userID}, bson.M{"$set": bson.M{"role": role}})
	if err != nil {
		return fmt.Errorf("identity: set role: %w", err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// Purge removes userID's account and every refresh token of it. It reports
// whether there was an account to remove; purging twice is harmless.
func (c *Credentials) Purge(ctx context.Context, userID string) (bool, error) {
	// Tokens go first: should the second step fail, a retry still finds
	// the account, and no token outlives it.
	if _, err := c.tokens.DeleteMany(ctx, bson.M{"userId": userID}); err != nil {
		return false, fmt.Errorf("identity: purge tokens: %w", err)
	}
	res, err := c.creds.DeleteOne(ctx, bson.M{"_id": userID})
	if err != nil {
		return false, fmt.Errorf("identity: purge credential: %w", err)
	}
	return res.DeletedCount > 0, nil
}

// SaveToken stores a new refresh token.
func (c *Credentials) SaveToken(ctx context.Context, t RefreshToken) error {
	if _, err := c.tokens.InsertOne(ctx, t); err != nil {
		return fmt.Errorf("identity: save refresh token: %w", err)
	}
	return nil
}

// UseToken rotates the refresh token with hash: it marks it used, once, and
// returns it. A token that is unknown, expired or revoked, or whose family
// has been revoked, is ErrTokenInvalid. A token that was already used is a
// replay: the whole family is revoked and the answer is ErrTokenReused.
func (c *Credentials) UseToken(ctx context.Context, hash string, now time.Time) (RefreshToken, error) {
	var t RefreshToken
	// The conditional update lets exactly one caller use the token, even
	// when several present it at once.
	err := c.tokens.FindOneAndUpdate(ctx,
		bson.M{"_id": hash, "usedAt": bson.M{"$exists": false}, "revokedAt": bson.M{"$exists": false}, "expiresAt": bson.M{"$gt": now}},
		bson.M{"$set": bson.M{"usedAt": now}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&t)
	if err == nil {
		revoked, err := c.tokens.CountDocuments(ctx, bson.M{"family": t.Family, "revokedAt": bson.M{"$exists": true}}, options.Count().SetLimit(1))
		if err != nil {
			return RefreshToken{}, fmt.Errorf("identity: use refresh token: %w", err)
		}
		if revoked > 0 {
			return RefreshToken{}, ErrTokenInvalid
		}
		return t, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return RefreshToken{}, fmt.Errorf("identity: use refresh token: %w", err)
	}
	err = c.tokens.FindOne(ctx, bson.M{"_id": hash}).Decode(&t)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return RefreshToken{}, ErrTokenInvalid
	}
	if err != nil {
		return RefreshToken{}, fmt.Errorf("identity: use refresh token: %w", err)
	}
	if t.UsedAt == nil || t.RevokedAt != nil {
		return RefreshToken{}, ErrTokenInvalid // expired, or revoked already
	}
	if err := c.RevokeFamily(ctx, t.Family, now); err != nil {
		return RefreshToken{}, err
	}
	return RefreshToken{}, ErrTokenReused
}

// RevokeFamily revokes every token of family, including ones a concurrent
// rotation adds later (UseToken checks the family).
func (c *Credentials) RevokeFamily(ctx context.Context, family string, now time.Time) error {
	if _, err := c.tokens.UpdateMany(ctx, bson.M{"family": family, "revokedAt": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"revokedAt": now}}); err != nil {
		return fmt.Errorf("identity: revoke token family: %w", err)
	}
	return nil
}

// RevokeToken revokes the family of the token with hash (a logout ends the
// whole session). An unknown token is not an error.
func (c *Credentials) RevokeToken(ctx context.Context, hash string, now time.Time) error {
	var t RefreshToken
	err := c.tokens.FindOne(ctx, bson.M{"_id": hash}).Decode(&t)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("identity: revoke refresh token: %w", err)
	}
	return c.RevokeFamily(ctx, t.Family, now)
}

// TokensOf returns every stored refresh token of userID (for tests and
// operations; it holds hashes only).
func (c *Credentials) TokensOf(ctx context.Context, userID string) (ts []RefreshToken, err error) {
	cur, err := c.tokens.Find(ctx, bson.M{"userId": userID})
	if err != nil {
		return nil, fmt.Errorf("identity: list refresh tokens: %w", err)
	}
	if err := cur.All(ctx, &ts); err != nil {
		return nil, fmt.Errorf("identity: list refresh tokens: %w", err)
	}
	return ts, nil
}
