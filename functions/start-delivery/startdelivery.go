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
	sc, err := deliverystore.ConfigFrom(cfg)
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

// New returns an unstarted start-delivery: it reads its configuration and
// opens the deliveries database.
func New() *fn.Reaction[*starter] { return fn.On(Name, open, start) }

// starter is what start-delivery works with: the deliveries database (the
// runtime keeps it), the configuration, and the round-robin position in
// its couriers.
type starter struct {
	*deliverystore.Store
	cfg  Config
	turn atomic.Uint64
}

func open(ctx context.Context, cfg map[string]string) (*starter, error) {
	c, err := ConfigFrom(cfg)
	if err != nil {
		return nil, err
	}
	store, err := deliverystore.Open(ctx, c.Store)
	if err != nil {
		return nil, fmt.Errorf("startdelivery: start: %w", err)
	}
	return &starter{Store: store, cfg: c}, nil
}

// start creates the delivery of a paid order and answers DELIVERY_STARTED;
// for an order the delivery side knows as cancelled it creates nothing and
// answers nothing.
func start(ctx context.Context, s *starter, paid events.PaymentSuccessData) (*event.Event, error) {
	if paid.ShippingAddress == nil {
		return nil, fn.Permanent(fmt.Errorf("%w (order %s)", ErrNoAddress, paid.OrderID))
	}
	now := time.Now().UTC()
	d := deliverystore.Delivery{
		ID:         ids.Derive(paid.OrderID, "delivery"),
		OrderID:    paid.OrderID,
		CustomerID: paid.CustomerID,
		Partner:    s.cfg.Partner,
		CourierID:  s.nextCourier(),
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
	stored, created, err := s.Create(ctx, d, reply)
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

func (s *starter) nextCourier() string {
	if len(s.cfg.Couriers) == 0 {
		return ""
	}
	n := s.turn.Add(1) - 1
	return s.cfg.Couriers[n%uint64(len(s.cfg.Couriers))]
}
