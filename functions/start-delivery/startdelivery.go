// Package startdelivery is the start-delivery function: on PAYMENT_SUCCESS
// it creates the order's delivery once, assigns the delivery partner (and a
// courier, when couriers are configured) and answers DELIVERY_STARTED. The
// reply is stored with the delivery, so a redelivered PAYMENT_SUCCESS gets
// the same event back, with the same id. An order cancelled first (see
// cancel-delivery) gets no delivery and no reply.
package startdelivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Name is the function's name: its event source is /knshop/start-delivery.
const Name = "start-delivery"

// ErrNoAddress marks a PAYMENT_SUCCESS without a shipping address: nothing
// can be delivered, and retrying will not change that.
var ErrNoAddress = errors.New("startdelivery: payment carries no shipping address")

// Config is what start-delivery reads at start.
type Config struct {
	Store    sqlstore.Config
	Partner  events.Partner
	Couriers []string // courier user ids, assigned in turn; none when empty
}

// partnerNames names the partners knshop knows; another id is its own name.
var partnerNames = map[string]string{"sandbox": "knshop sandbox couriers"}

// ConfigFrom reads MYSQL_DSN, KNSHOP_SERIALIZE_DB, DELIVERY_PARTNER (default
// sandbox) and COURIER_IDS (comma-separated, optional).
func ConfigFrom(cfg map[string]string) (Config, error) {
	sc, err := sqlstore.ConfigFrom(cfg, deliverystore.Database)
	if err != nil {
		return Config{}, fmt.Errorf("startdelivery: config: %w", err)
	}
	c := Config{Store: sc, Partner: events.Partner{ID: strings.TrimSpace(cfg["DELIVERY_PARTNER"])}}
	if c.Partner.ID == "" {
		c.Partner.ID = "sandbox"
	}
	c.Partner.Name = partnerNames[c.Partner.ID]
	if c.Partner.Name == "" {
		c.Partner.Name = c.Partner.ID
	}
	for _, id := range strings.Split(cfg["COURIER_IDS"], ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.Couriers = append(c.Couriers, id)
		}
	}
	return c, nil
}

// Function is start-delivery.
type Function struct {
	cfg   Config
	store *deliverystore.Store
	turn  atomic.Uint64 // round-robin position in cfg.Couriers
}

// New returns an unstarted start-delivery.
func New() *Function { return &Function{} }

// Start reads the configuration and opens the deliveries database.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	return fn.StartFrom(ctx, cfg, ConfigFrom, f.startWith)
}

// startWith opens the store c names.
func (f *Function) startWith(ctx context.Context, c Config) error {
	store, err := deliverystore.Open(ctx, c.Store)
	if err := fn.Use(ctx, store, err); err != nil {
		return fmt.Errorf("startdelivery: start: %w", err)
	}
	f.cfg, f.store = c, store
	return nil
}

// Handle creates the delivery of a paid order and answers DELIVERY_STARTED;
// for an order the delivery side knows as cancelled it creates nothing and
// answers nothing.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	var paid events.PaymentSuccessData
	if err := events.Decode(e, &paid); err != nil {
		return nil, fmt.Errorf("startdelivery: %w", err)
	}
	if paid.ShippingAddress == nil {
		return nil, fn.Permanent(fmt.Errorf("%w (order %s)", ErrNoAddress, paid.OrderID))
	}
	now := time.Now().UTC()
	d := deliverystore.Delivery{
		ID:         ids.Derive(paid.OrderID, "delivery"),
		OrderID:    paid.OrderID,
		CustomerID: paid.CustomerID,
		Partner:    f.cfg.Partner,
		CourierID:  f.nextCourier(),
		Address:    *paid.ShippingAddress,
		CreatedAt:  now,
	}
	reply, err := events.New(ctx, Name, events.DeliveryStartedData{
		DeliveryID: d.ID, OrderID: d.OrderID, Address: d.Address, Partner: d.Partner, StartedAt: now,
	})
	if err != nil {
		return nil, fmt.Errorf("startdelivery: %w", err)
	}
	reply.SetID(ids.Derive(d.OrderID, string(events.DeliveryStarted)))
	stored, created, err := f.store.Create(ctx, d, reply)
	if errors.Is(err, deliverystore.ErrOrderCancelled) {
		fn.Logger(ctx).InfoContext(ctx, "order cancelled before its delivery started; nothing to deliver",
			"order_id", d.OrderID)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("startdelivery: %w", err)
	}
	if !created {
		fn.Logger(ctx).InfoContext(ctx, "delivery already started; answering the stored reply",
			"order_id", d.OrderID, "delivery_id", d.ID)
	}
	return &stored, nil
}

func (f *Function) nextCourier() string {
	if len(f.cfg.Couriers) == 0 {
		return ""
	}
	n := f.turn.Add(1) - 1
	return f.cfg.Couriers[n%uint64(len(f.cfg.Couriers))]
}
