package orderstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sqlstore"
)

// PlaceRequest is a validated order request.
type PlaceRequest struct {
	OrderID    string
	CustomerID string
	// Items to order; nil orders the cart (and empties it).
	Items           []events.Item
	ShippingAddress events.Address
	PaymentMethod   string
	// IdempotencyKey, when set, makes a repeat with the same RequestHash
	// return the first order instead of placing another.
	IdempotencyKey string
	RequestHash    string
	At             time.Time
	// PaymentDeadline is how long the order may stay unpaid before
	// reconcile-orders cancels it (reason expired).
	PaymentDeadline time.Duration
}

// Placed is the outcome of Place.
type Placed struct {
	Order Order
	// Repeat is true when the idempotency key named an order placed before.
	Repeat bool
	// Events were written to the outbox with the order; the store
	// published them after the commit if it has a publisher.
	Events []event.Event
}

// Place prices the items from the read model and writes the order, its
// items, its first history entry, the idempotency key and the events of
// announce (ORDER_PLACED) in one transaction. With an idempotency key
// already used by this customer it places nothing: it returns the order of
// the first request when the body hash matches, else ErrIdempotencyMismatch.
func (s *Store) Place(ctx context.Context, req PlaceRequest, announce Announce) (Placed, error) {
	var out Placed
	err := sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		out = Placed{}
		if req.IdempotencyKey != "" {
			if err := orderKeys.claim(ctx, tx, req.CustomerID, req.IdempotencyKey, req.RequestHash, req.OrderID, req.At); err != nil {
				return err
			}
		}
		o, evs, err := place(ctx, tx, req, announce)
		out.Order, out.Events = o, evs
		return err
	})
	if errors.Is(err, errKeyTaken) {
		// The key's first request committed (a racing one waited on the
		// unique key, then failed): answer with its order.
		return s.repeat(ctx, req)
	}
	if err != nil {
		return Placed{}, fmt.Errorf("orderstore: place order: %w", err)
	}
	s.Published(ctx, out.Events...)
	return out, nil
}

func (s *Store) repeat(ctx context.Context, req PlaceRequest) (Placed, error) {
	orderID, err := orderKeys.first(ctx, s.db, req.CustomerID, req.IdempotencyKey, req.RequestHash)
	if err != nil {
		return Placed{}, fmt.Errorf("orderstore: place order: %w", err)
	}
	o, err := s.Get(ctx, orderID)
	if err != nil {
		return Placed{}, fmt.Errorf("orderstore: place order: repeat: %w", err)
	}
	return Placed{Order: o, Repeat: true}, nil
}

func place(ctx context.Context, tx *sql.Tx, req PlaceRequest, announce Announce) (Order, []event.Event, error) {
	wanted := req.Items
	fromCart := wanted == nil
	if fromCart {
		lines, err := cartItems(ctx, tx, req.CustomerID)
		if err != nil {
			return Order{}, nil, fmt.Errorf("cart: %w", err)
		}
		if len(lines) == 0 {
			return Order{}, nil, ErrEmptyCart
		}
		for _, l := range lines {
			wanted = append(wanted, events.Item{ProductID: l.ProductID, Quantity: l.Quantity})
		}
	}
	items, total, err := price(ctx, tx, wanted)
	if err != nil {
		return Order{}, nil, err
	}
	snapshot, err := customer(ctx, tx, req.CustomerID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Order{}, nil, fmt.Errorf("customer: %w", err)
	}
	addr, err := json.Marshal(req.ShippingAddress)
	if err != nil {
		return Order{}, nil, fmt.Errorf("address: %w", err)
	}
	at := sqlstore.Time(req.At)
	wait := req.PaymentDeadline
	if wait <= 0 {
		wait = DefaultPaymentDeadline
	}
	deadline := at.Add(wait)
	o := Order{
		ID: req.OrderID, CustomerID: req.CustomerID, Status: Pending, Items: items, Total: total,
		ShippingAddress: req.ShippingAddress, History: []HistoryEntry{{Status: Pending, At: at}},
		CreatedAt: at, UpdatedAt: at, PaymentMethod: req.PaymentMethod, Deadline: &deadline,
		CustomerEmail: snapshot.Email, CustomerName: snapshot.Name, Version: 1,
	}
	itemsJSON, historyJSON, err := encodeDetails(o)
	if err != nil {
		return Order{}, nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, customer_id, customer_email, customer_name, status,
		total_amount, currency, shipping_address, payment_method, version, created_at, updated_at, deadline, checked_at,
		items, history)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.CustomerID, o.CustomerEmail, o.CustomerName, o.Status, o.Total.Amount, o.Total.Currency,
		string(addr), o.PaymentMethod, o.Version, at, at, deadline, at, itemsJSON, historyJSON); err != nil {
		return Order{}, nil, fmt.Errorf("insert order: %w", err)
	}
	if fromCart {
		if _, err := tx.ExecContext(ctx, `DELETE FROM cart_items WHERE customer_id = ?`, req.CustomerID); err != nil {
			return Order{}, nil, fmt.Errorf("empty cart: %w", err)
		}
	}
	evs, err := addEvents(ctx, tx, o, announce)
	return o, evs, err
}

// addEvents builds announce's events for o and writes them to the outbox.
func addEvents(ctx context.Context, tx *sql.Tx, o Order, announce Announce) ([]event.Event, error) {
	if announce == nil {
		return nil, nil
	}
	evs, err := announce(o)
	if err != nil {
		return nil, fmt.Errorf("announce: %w", err)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	if err := outbox.AddSQL(ctx, tx, evs...); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return evs, nil
}
