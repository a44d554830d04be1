// Package deliveries is the deliveries HTTP function: it shows a delivery
// to the order's customer, its assigned courier and admins, and takes the
// delivery's status steps (COURIERED, then DELIVERED) from the assigned
// courier, an admin, or the delivery partner signing its request. Each step
// writes its event (DELIVERY_COURIERED_PARTNER, DELIVERY_COMPLETED) to the
// outbox in the same transaction and publishes it right after. A delivery
// cancel-delivery cancelled with its order takes no more steps (409).
package deliveries

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/settings"
	"github.com/knshop/knshop/lib/sink"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Name is the function's name: its event source is /knshop/deliveries.
const Name = "deliveries"

// Config is what deliveries reads at start.
type Config struct {
	Store sqlstore.Config
	Auth  auth.Config
	Sink  string // K_SINK: where the outbox publishes
	// PartnerSecret keys the HMAC of partner requests
	// (PARTNER_WEBHOOK_SECRET); without it partner requests are refused.
	PartnerSecret []byte
}

// ConfigFrom reads MYSQL_DSN, KNSHOP_SERIALIZE_DB, the JWT_* keys, K_SINK
// (required) and PARTNER_WEBHOOK_SECRET.
func ConfigFrom(cfg map[string]string) (Config, error) {
	s := settings.Of(cfg)
	c := Config{Store: settings.Read(s, deliverystore.ConfigFrom), Auth: settings.Read(s, auth.ConfigFrom),
		Sink: settings.Read(s, sink.URLFrom), PartnerSecret: []byte(cfg["PARTNER_WEBHOOK_SECRET"])}
	return c, s.Err("deliveries: config")
}

// Function is the deliveries HTTP function.
type Function struct {
	*auth.Routes // built by Start; its Handle serves the function
	cfg          Config
	store        *deliverystore.Store
}

// New returns an unstarted deliveries function.
func New() *Function { return &Function{} }

// Start reads the configuration, opens the deliveries database and builds
// the routes.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	return fn.StartFrom(ctx, cfg, ConfigFrom, f.startWith)
}

// startWith opens the store c names and builds the routes.
func (f *Function) startWith(ctx context.Context, c Config) error {
	store, err := deliverystore.Open(ctx, c.Store)
	if err := fn.Use(ctx, store, err); err != nil {
		return fmt.Errorf("deliveries: start: %w", err)
	}
	f.cfg, f.store = c, store
	store.PublishWith(outbox.NewSQL(store.DB(), sink.NewHTTP(c.Sink), fn.Logger(ctx).With("part", "outbox")))
	f.Routes = auth.NewRoutes(c.Auth)
	f.SignedIn("GET /api/deliveries", f.list)
	f.SignedIn("GET /api/deliveries/{id}", f.get)
	f.Public("POST /api/deliveries/{id}/events", f.step) // a token or the partner's signature: see caller
	return nil
}

func logger(r *http.Request) *slog.Logger { return fn.Logger(r.Context()) }
