// Package mongostore opens a function's MongoDB database and, for the
// embedded FerretDB, shares one connection per server in the process.
package mongostore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/knshop/knshop/lib/areadb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ErrConfig reports missing or malformed configuration.
var ErrConfig = errors.New("mongostore: bad configuration")

// Config says where a function's database lives.
type Config struct {
	// URI is a mongodb:// connection string; the database is Database.
	URI string
	// Database is the database the function owns, e.g. "catalog".
	Database string
	// Serialize shares one client with a single connection per URI and
	// database in the process. Set it for FerretDB v1, which loses
	// concurrent updates of one document made over several connections (a
	// document lives in one database, so databases may run side by side).
	Serialize bool
}

// ConfigFrom reads MONGODB_URI (required) and KNSHOP_SERIALIZE_MONGODB, or
// else KNSHOP_SERIALIZE_DB, from cfg for the given database, renamed by
// <DATABASE>_DATABASE when cfg has it (areadb).
func ConfigFrom(cfg map[string]string, database string) (Config, error) {
	p, err := areadb.Read(cfg, uriKey, engine, database)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return Config{URI: p.Addr, Database: p.Database, Serialize: p.Serialize}, nil
}

// The configuration keys: the server, and the engine's serialize switch.
const (
	uriKey = "MONGODB_URI"
	engine = "MONGODB"
)

// Env is the configuration ConfigFrom reads c from, for the database whose
// default name is database (its <DATABASE>_DATABASE names c's): what a test
// hands a function's Start.
func (c Config) Env(database string) map[string]string {
	return areadb.Place{Addr: c.URI, Database: c.Database, Serialize: c.Serialize}.Env(uriKey, engine, database)
}

// String describes c without the URI's credentials, for logs.
func (c Config) String() string {
	host := "?"
	if u, err := url.Parse(c.URI); err == nil {
		host = u.Host
	}
	return fmt.Sprintf("mongodb %s/%s serialize=%t", host, c.Database, c.Serialize)
}

// clients is a set of clients shared in the process, one per URI and
// database.
type clients struct {
	sync.Mutex
	byKey map[string]*mongo.Client
	// poolSize limits each client's connections (0: the driver's default).
	poolSize uint64
}

// shared holds the one client per URI and database that Open hands out
// when Config.Serialize is set. It is process-wide on purpose: `knshop dev`
// runs every function in one process, each calling Open on its own, and
// FerretDB v1 is only correct when all writers of a document share one
// connection. Each database gets its own (FerretDB keeps each in a file of
// its own), so the catalog's stock steps do not queue behind the identity
// area's writes.
var shared = &clients{byKey: map[string]*mongo.Client{}, poolSize: 1}

// concurrent holds the clients OpenConcurrent hands out with
// Config.Serialize: one per URI and database, with an ordinary pool.
var concurrent = &clients{byKey: map[string]*mongo.Client{}}

// connectTimeout bounds the first ping of a new client.
const connectTimeout = 10 * time.Second

// Open connects to c.URI and returns c.Database. Without c.Serialize each
// Open makes its own client: disconnect it (db.Client().Disconnect) in Stop.
// With c.Serialize, all Opens of the same URI and database in the process
// share one client limited to one connection; disconnecting it (at
// shutdown) makes a later Open connect anew.
func Open(ctx context.Context, c Config) (*mongo.Database, error) {
	if c.URI == "" || c.Database == "" {
		return nil, fmt.Errorf("%w: URI and database are required", ErrConfig)
	}
	if !c.Serialize {
		client, err := connect(ctx, c, options.Client().ApplyURI(c.URI))
		if err != nil {
			return nil, err
		}
		return client.Database(c.Database), nil
	}
	return shared.open(ctx, c)
}

// OpenConcurrent is Open for work that cannot lose a concurrent writer's
// update: inserts (a unique _id decides a race between two) and reads. With
// c.Serialize it returns c.Database on a client shared per URI and database
// with an ordinary pool, beside the serialized one Open hands out, so such
// work does not queue behind the updates; a read there sees every update
// the serialized client has had acknowledged. Without c.Serialize it is
// Open. Updates must still go through Open's client.
func OpenConcurrent(ctx context.Context, c Config) (*mongo.Database, error) {
	if !c.Serialize {
		return Open(ctx, c)
	}
	if c.URI == "" || c.Database == "" {
		return nil, fmt.Errorf("%w: URI and database are required", ErrConfig)
	}
	return concurrent.open(ctx, c)
}

// open returns c.Database on the set's client for c, connecting it when
// there is none or it was disconnected.
func (cs *clients) open(ctx context.Context, c Config) (*mongo.Database, error) {
	key := c.URI + "\x00" + c.Database
	cs.Lock()
	defer cs.Unlock()
	if client, ok := cs.byKey[key]; ok {
		err := client.Ping(ctx, nil)
		if err == nil {
			return client.Database(c.Database), nil
		}
		if !errors.Is(err, mongo.ErrClientDisconnected) {
			return nil, fmt.Errorf("mongostore: open %s: %w", c.Database, err)
		}
		delete(cs.byKey, key)
	}
	opts := options.Client().ApplyURI(c.URI)
	if cs.poolSize > 0 {
		opts.SetMaxPoolSize(cs.poolSize)
	}
	client, err := connect(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	cs.byKey[key] = client
	return client.Database(c.Database), nil
}

// has reports whether client is one of the set's.
func (cs *clients) has(client *mongo.Client) bool {
	cs.Lock()
	defer cs.Unlock()
	for _, c := range cs.byKey {
		if c == client {
			return true
		}
	}
	return false
}

func connect(ctx context.Context, c Config, opts *options.ClientOptions) (*mongo.Client, error) {
	client, err := mongo.Connect(monitored(opts))
	if err != nil {
		return nil, fmt.Errorf("mongostore: open %s: %w", c.Database, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := client.Ping(pingCtx, nil); err != nil {
		return nil, errors.Join(fmt.Errorf("mongostore: open %s: %w", c.Database, err), client.Disconnect(ctx))
	}
	return client, nil
}

// IsDuplicateKey reports whether err is a duplicate key error (E11000): an
// insert or upsert that broke a unique index.
func IsDuplicateKey(err error) bool { return err != nil && mongo.IsDuplicateKeyError(err) }

// Close disconnects the client of db, a database Open or OpenConcurrent
// returned, unless it is one of the process's shared clients, which other
// functions of the process still use. A nil db (a store never opened) has nothing to close.
func Close(ctx context.Context, db *mongo.Database) error {
	if db == nil {
		return nil
	}
	client := db.Client()
	if isShared(client) {
		return nil
	}
	if err := client.Disconnect(ctx); err != nil {
		return fmt.Errorf("mongostore: close: %w", err)
	}
	return nil
}

// QueriesUseIndexes reports whether the server behind db answers queries
// through secondary indexes. FerretDB v1 (the embedded server of `knshop
// dev`) does not: it looks a document up by an index only for a filter that
// is exactly {_id}, and scans for anything else, so a secondary index there
// only costs every write of the collection (each index re-reads the whole
// document). Unique indexes still enforce uniqueness there and are kept.
func QueriesUseIndexes(ctx context.Context, db *mongo.Database) (bool, error) {
	var info bson.M
	if err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false, fmt.Errorf("mongostore: build info: %w", err)
	}
	// FerretDB says ferretdbVersion; embedded as a library it says
	// "unknown" (no version was stamped into the build).
	v, ferret := info["ferretdbVersion"].(string)
	v1 := ferret && (v == "unknown" || strings.HasPrefix(v, "v1."))
	return !v1, nil
}

// isShared reports whether client is one Open or OpenConcurrent shares in
// the process.
func isShared(client *mongo.Client) bool { return shared.has(client) || concurrent.has(client) }
