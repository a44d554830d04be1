package paymentstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/knshop/knshop/lib/areadb"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/payment"
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
	pc, err := payment.ConfigFrom(cfg)
	if err != nil {
		return StepConfig{}, fmt.Errorf("%s: config: %w", function, err)
	}
	sc, err := ConfigFrom(cfg)
	if err != nil {
		return StepConfig{}, fmt.Errorf("%s: config: %w", function, err)
	}
	c := StepConfig{Store: sc, Payment: pc, Sink: cfg["K_SINK"], Claim: pc.Timeout + 10*time.Second}
	if c.Sink == "" {
		return StepConfig{}, errors.New(function + ": config: K_SINK is not set")
	}
	if v := cfg["PAYMENT_CLAIM_TTL"]; v != "" {
		if c.Claim, err = time.ParseDuration(v); err != nil || c.Claim <= 0 {
			return StepConfig{}, fmt.Errorf("%s: config: PAYMENT_CLAIM_TTL=%q is not a positive duration", function, v)
		}
	}
	return c, nil
}

// OpenStep opens what a money-moving saga step needs, from its cfg
// (StepConfigFrom): the gateway and the payments database, publishing its
// outbox to K_SINK. function names the step in errors and in the log line.
// The function keeps the store with fn.Use, which pings and closes it.
func OpenStep(ctx context.Context, cfg map[string]string, function string) (StepConfig, *Store, payment.Gateway, error) {
	c, err := StepConfigFrom(cfg, function)
	if err != nil {
		return StepConfig{}, nil, nil, err
	}
	gw, err := payment.Open(c.Payment)
	if err != nil {
		return StepConfig{}, nil, nil, fmt.Errorf("%s: start: %w", function, err)
	}
	log := fn.Logger(ctx)
	db, err := Open(ctx, c.Store, sink.NewHTTP(c.Sink), log)
	if err != nil {
		return StepConfig{}, nil, nil, fmt.Errorf("%s: start: %w", function, err)
	}
	log.InfoContext(ctx, function+" started", "payment", c.Payment, "store", c.Store.String())
	return c, db, gw, nil
}
