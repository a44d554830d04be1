// Package relayoutbox is the relay-outbox function. A PingSource calls it
// every minute (the local run, on a timer); whatever the event, it sends
// what the fast path left in every outbox, MySQL tables and MongoDB
// document outboxes alike, oldest first per outbox, until each is empty or
// fails. It answers no reply; a failure is a 500 so the next tick, or the
// Broker's retry, tries again.
package relayoutbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/go-sql-driver/mysql"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/knshop/knshop/lib/deadletter"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/metrics"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/opsdb"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/settings"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Defaults of the outboxes relayed: every MySQL database and MongoDB
// collection whose owner writes events through lib/outbox.
const (
	DefaultMySQLDatabases   = "orders,payments,deliveries"
	DefaultMongoCollections = "identity.credentials,identity.profiles,catalog.products,catalog.reviews"
)

// batch is how many events one Relay call sends; maxRounds bounds the calls
// per outbox and tick, so a flood cannot keep one request running forever.
const (
	batch     = 100
	maxRounds = 100
)

// MongoCollection names one MongoDB collection.
type MongoCollection struct{ Database, Collection string }

func (m MongoCollection) String() string { return m.Database + "." + m.Collection }

// Config is what relay-outbox reads at start.
type Config struct {
	Sink             string
	MySQL            sqlstore.Config // DSN and Serialize; Database is set per outbox
	MySQLDatabases   []string
	Mongo            mongostore.Config // URI and Serialize; Database is set per outbox
	MongoCollections []MongoCollection
	// DeadLetterDatabase is where events the Broker refuses for good are
	// set aside (OPERATIONS_DATABASE, default deadletter.Database).
	DeadLetterDatabase string
	// Retention is how long a sent event stays in a MySQL outbox before a
	// tick purges it (OUTBOX_RETENTION, default DefaultRetention).
	Retention time.Duration
}

// DefaultRetention is how long sent events are kept in the MySQL outboxes:
// long enough to look at what just went out, short enough that the table
// holds minutes of events, not every event ever sent.
const DefaultRetention = 10 * time.Minute

// ConfigFrom reads K_SINK, OUTBOX_RETENTION (a duration, default
// DefaultRetention), RELAY_MYSQL_DATABASES (comma list, default
// DefaultMySQLDatabases), RELAY_MONGO_COLLECTIONS (comma list of
// db.collection, default DefaultMongoCollections), and MYSQL_DSN /
// MONGODB_URI / KNSHOP_SERIALIZE_DB when their list is not empty. A list
// set to "" relays nothing of that kind.
func ConfigFrom(cfg map[string]string) (Config, error) {
	s := settings.Of(cfg)
	c := Config{Sink: settings.Read(s, sink.URLFrom), DeadLetterDatabase: opsdb.Database,
		Retention: s.Duration("OUTBOX_RETENTION", DefaultRetention)}
	c.MySQLDatabases = list(cfg, "RELAY_MYSQL_DATABASES", DefaultMySQLDatabases)
	if len(c.MySQLDatabases) > 0 {
		c.MySQL = settings.Read(s, func(cfg map[string]string) (sqlstore.Config, error) {
			return sqlstore.ConfigFrom(cfg, c.MySQLDatabases[0])
		})
	}
	for _, name := range list(cfg, "RELAY_MONGO_COLLECTIONS", DefaultMongoCollections) {
		db, coll, ok := strings.Cut(name, ".")
		if !ok || db == "" || coll == "" {
			s.Check(fmt.Errorf("RELAY_MONGO_COLLECTIONS entry %q is not db.collection", name))
			continue
		}
		c.MongoCollections = append(c.MongoCollections, MongoCollection{db, coll})
	}
	if len(c.MongoCollections) > 0 {
		c.Mongo = settings.Read(s, func(cfg map[string]string) (mongostore.Config, error) {
			return mongostore.ConfigFrom(cfg, c.MongoCollections[0].Database)
		})
	}
	if err := s.Err("relayoutbox: config"); err != nil {
		return Config{}, err
	}
	return c, nil
}

func list(cfg map[string]string, key, def string) []string {
	v, ok := cfg[key]
	if !ok {
		v = def
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// relayer is one outbox: lib/outbox's SQL and Mongo both are.
type relayer interface {
	Relay(ctx context.Context, limit int) (int, error)
}

// purger is an outbox that keeps sent events until purged (lib/outbox's
// SQL; a MongoDB outbox removes each entry as it is sent).
type purger interface {
	Purge(ctx context.Context, cutoff time.Time, limit int) (int64, error)
}

// source is one outbox with its name for logs.
type source struct {
	name string
	out  relayer
}

// Function is relay-outbox.
type Function struct {
	cfg     Config
	sources []source
}

// New returns an unstarted relay-outbox.
func New() *Function { return &Function{} }

// Start reads the configuration and opens every outbox.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	return fn.StartFrom(ctx, cfg, ConfigFrom, f.startWith)
}

func (f *Function) startWith(ctx context.Context, c Config) error {
	f.cfg = c
	s := sink.NewHTTP(c.Sink)
	log := fn.Logger(ctx).With("part", "outbox")
	var setAside outbox.SetAside
	if len(c.MySQLDatabases) > 0 {
		// Events the Broker refuses for good go to the dead letters (the
		// operations database), visible to an admin, and the relay goes on.
		oc := c.MySQL
		oc.Database = c.DeadLetterDatabase
		letters, err := deadletter.Open(ctx, oc)
		if err != nil {
			return fmt.Errorf("relayoutbox: start: %w", err)
		}
		if err := fn.Use(ctx, letters, nil); err != nil {
			return fmt.Errorf("relayoutbox: start: %w", err)
		}
		setAside = func(ctx context.Context, e event.Event, refusal *sink.StatusError) error {
			_, err := letters.Add(ctx, deadletter.Refused(e, c.Sink, refusal.Code, refusal.Body, time.Now()))
			return err
		}
	}
	for _, name := range c.MySQLDatabases {
		sc := c.MySQL
		sc.Database = name
		db, err := sqlstore.Open(ctx, sc, nil) // the owner migrates its outbox table
		if err != nil {
			return fmt.Errorf("relayoutbox: start: %w", err) // the runtime closes what was kept
		}
		if !sc.Serialize { // the process's shared pool is not ours to close
			if err := fn.Use(ctx, db, nil); err != nil {
				return fmt.Errorf("relayoutbox: start: %w", err)
			}
		}
		f.sources = append(f.sources, source{"mysql " + name, tolerateMissingTable{outbox.NewSQL(db, s, log).WithSetAside(setAside)}})
	}
	dbs := map[string]*mongo.Database{}
	for _, mc := range c.MongoCollections {
		db, ok := dbs[mc.Database]
		if !ok {
			cfg := c.Mongo
			cfg.Database = mc.Database
			var err error
			if db, err = mongostore.Open(ctx, cfg); err != nil {
				return fmt.Errorf("relayoutbox: start: %w", err)
			}
			dbs[mc.Database] = db
			if !cfg.Serialize {
				if err := fn.Use(ctx, closer(db.Client().Disconnect), nil); err != nil {
					return fmt.Errorf("relayoutbox: start: %w", err)
				}
			}
		}
		f.sources = append(f.sources, source{"mongodb " + mc.String(), outbox.NewMongo(db.Collection(mc.Collection), s, log).WithSetAside(setAside)})
	}
	return nil
}

// closer makes a disconnect func something fn.Use keeps.
type closer func(context.Context) error

func (c closer) Close(ctx context.Context) error { return c(ctx) }

// Handle relays every outbox. One failing outbox does not stop the others;
// any failure makes the answer a 500.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	log := fn.Logger(ctx)
	var errs []error
	total := 0
	for _, src := range f.sources {
		n, err := drain(ctx, src.out)
		total += n
		backlog.WithLabelValues(src.name).Set(float64(n))
		if n > 0 {
			log.InfoContext(ctx, "relayed outbox events", "outbox", src.name, "sent", n)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src.name, err))
		}
		if p, ok := src.out.(purger); ok {
			purged, err := purge(ctx, p, time.Now().Add(-f.cfg.Retention))
			if purged > 0 {
				log.InfoContext(ctx, "purged sent outbox events", "outbox", src.name, "purged", purged)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", src.name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("relayoutbox: sent %d, then: %w", total, err)
	}
	return nil, nil
}

// backlog is what each pass found left behind by the fast path.
var backlog = metrics.NewGaugeVec("outbox_backlog",
	"outbox")

// drain relays batches until one comes back short or fails.
func drain(ctx context.Context, r relayer) (int, error) {
	return inBatches(func(limit int) (int, error) { return r.Relay(ctx, limit) })
}

// inBatches calls step with the batch size until a call does less than a
// batch or fails, at most maxRounds times per tick (what is left waits for
// the next one), and adds up what the calls did.
func inBatches[N int | int64](step func(limit int) (N, error)) (N, error) {
	var total N
	for range maxRounds {
		n, err := step(batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
	return total, nil
}

// purge deletes sent events older than cutoff, a batch at a time.
func purge(ctx context.Context, p purger, cutoff time.Time) (int64, error) {
	return inBatches(func(limit int) (int64, error) { return p.Purge(ctx, cutoff, limit) })
}

// tolerateMissingTable relays and purges nothing from a database whose
// owner has not created its outbox table yet, instead of failing every tick
// until then.
type tolerateMissingTable struct{ *outbox.SQL }

// errNoSuchTable is MySQL's ER_NO_SUCH_TABLE.
const errNoSuchTable = 1146

func (t tolerateMissingTable) Relay(ctx context.Context, limit int) (int, error) {
	n, err := t.SQL.Relay(ctx, limit)
	return n, noTableIsNoError(ctx, err)
}

func (t tolerateMissingTable) Purge(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	n, err := t.SQL.Purge(ctx, cutoff, limit)
	return n, noTableIsNoError(ctx, err)
}

// noTableIsNoError drops ER_NO_SUCH_TABLE.
func noTableIsNoError(ctx context.Context, err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == errNoSuchTable {
		slog.Default().DebugContext(ctx, "relayoutbox: no outbox table yet", "error", err)
		return nil
	}
	return err
}
