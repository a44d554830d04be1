package paymentstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/knshop/knshop/lib/areadb"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/payment"
	"github.com/knshop/knshop/lib/settings"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/sqlstore"
)

// StepConfig is what a saga step that moves money (charge-payment,
// refund-payment) reads at start.
type StepConfig struct {
	Store   sqlstore.Config
	Payment payment.Config
	// Sink is the Broker URL (K_SINK) the store's outbox publishes to.
	Sink string
	// Claim is how long a delivery holds a payment for its gateway call
	// before another delivery may take it over (PAYMENT_CLAIM_TTL; default
	// the gateway timeout + 10s).
	Claim time.Duration
}

// DatabaseKey names the cfg entry that overrides the database name
// (areadb's rule): tests give each run its own database with it.
var DatabaseKey = areadb.Key(Database)

// ConfigFrom reads where the payments database lives from a function's
// cfg: MYSQL_DSN, KNSHOP_SERIALIZE_DB and, optionally, PAYMENTS_DATABASE.
func ConfigFrom(cfg map[string]string) (sqlstore.Config, error) {
	return sqlstore.ConfigFrom(cfg, Database)
}

// StepConfigFrom reads the gateway keys (payment.ConfigFrom), where the
// database lives (ConfigFrom), K_SINK (required) and PAYMENT_CLAIM_TTL. Its
// errors start with function, the step's name.
func StepConfigFrom(cfg map[string]string, function string) (StepConfig, error) {
	s := settings.Of(cfg)
	c := StepConfig{Store: settings.Read(s, ConfigFrom), Payment: settings.Read(s, payment.ConfigFrom), Sink: settings.Read(s, sink.URLFrom)}
	c.Claim = s.Duration("PAYMENT_CLAIM_TTL", c.Payment.Timeout+10*time.Second)
	return c, s.Err(function + ": config")
}

// Kit is what a saga step that moves money works with, opened once at
// start (OpenKit): the configuration it read, the gateway, and the payments
// database behind S, the part of *Store the step needs (a test puts a
// failing S in its place). The runtime keeps a Kit (fn.Use): Ping and
// Close are the database's.
type Kit[S any] struct {
	Config  StepConfig
	Gateway payment.Gateway
	Store   S
	db      *Store
}

// OpenKit is the opener of the step named function (fn.On): it reads cfg
// (StepConfigFrom), opens the gateway and the payments database, whose
// outbox publishes to K_SINK, and logs that the step started. function
// names the step in errors. S must be an interface *Store satisfies, or
// *Store itself.
func OpenKit[S any](function string) func(context.Context, map[string]string) (*Kit[S], error) {
	return func(ctx context.Context, cfg map[string]string) (*Kit[S], error) {
		c, err := StepConfigFrom(cfg, function)
		if err != nil {
			return nil, err
		}
		gw, err := payment.Open(c.Payment)
		if err != nil {
			return nil, fmt.Errorf("%s: start: %w", function, err)
		}
		log := fn.Logger(ctx)
		db, err := Open(ctx, c.Store, sink.NewHTTP(c.Sink), log)
		if err != nil {
			return nil, fmt.Errorf("%s: start: %w", function, err)
		}
		s, ok := any(db).(S)
		if !ok {
			return nil, errors.Join(fmt.Errorf("%s: start: %T is not a %T", function, db, s), db.Close())
		}
		log.InfoContext(ctx, function+" started", "payment", c.Payment, "store", c.Store.String())
		return &Kit[S]{Config: c, Gateway: gw, Store: s, db: db}, nil
	}
}

// Ping checks the payments database answers.
func (k *Kit[S]) Ping(ctx context.Context) error { return k.db.Ping(ctx) }

// Close closes the payments database (Store.Close); a Kit never opened has
// nothing to close.
func (k *Kit[S]) Close() error {
	if k == nil {
		return nil
	}
	return k.db.Close()
}

// Turn is how a money-moving step takes its turn to call the gateway for x
// (a payment, a return's refund), one delivery at a time: x already
// answered (answered says so) is answered again; else the step claims x
// (claim); a claim another delivery holds means rereading x, answering it
// if it settled meanwhile, or else busy (the Broker retries). done is false
// only when the claim is the caller's: it calls the gateway, then settles
// or releases the claim. Errors of claim and reread come back wrapped by
// function's name.
func Turn[X any](ctx context.Context, function string, x X, answered func(X) (reply *event.Event, done bool, err error),
	claim func(context.Context) (bool, error), reread func(context.Context) (X, error), busy error) (*event.Event, bool, error) {
	if reply, done, err := answered(x); done {
		return reply, true, err
	}
	ok, err := claim(ctx)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", function, err)
	}
	if ok {
		return nil, false, nil
	}
	now, err := reread(ctx)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", function, err)
	}
	if reply, done, err := answered(now); done {
		return reply, true, err
	}
	return nil, true, busy
}
