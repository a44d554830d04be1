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
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/outbox"
	"github.com/knshop/knshop/lib/sqlstore"
)

// ReturnStatus is where a return stands.
type ReturnStatus string

// Return states: REQUESTED → RECEIVED → REFUNDED, or REQUESTED → REJECTED.
const (
	ReturnRequested ReturnStatus = "REQUESTED"
	ReturnReceived  ReturnStatus = "RECEIVED"
	ReturnRefunded  ReturnStatus = "REFUNDED"
	ReturnRejected  ReturnStatus = "REJECTED"
)

// ReturnStatuses are every return state.
var ReturnStatuses = []ReturnStatus{ReturnRequested, ReturnReceived, ReturnRefunded, ReturnRejected}

// DefaultReturnWindow is how long after its completion an order may be
// returned (RETURN_WINDOW).
const DefaultReturnWindow = 720 * time.Hour

// Errors of returns.
var (
	// ErrReturnNotAllowed: the order is not COMPLETED, or was completed
	// longer ago than the return window.
	ErrReturnNotAllowed = errors.New("orderstore: the order cannot be returned")
	// ErrTooManyUnits: more units than were delivered, less those already
	// in a return that was not rejected.
	ErrTooManyUnits = errors.New("orderstore: more units than can be returned")
	// ErrNotInOrder: a returned product that the order does not hold.
	ErrNotInOrder = errors.New("orderstore: the product is not in the order")
)

// ReturnItem is a returned product, with the unit price it was ordered at.
type ReturnItem struct {
	ProductID string      `json:"productId"`
	Quantity  int64       `json:"quantity"`
	UnitPrice money.Money `json:"unitPrice"`
}

// ReturnHistoryEntry is one state a return entered, and when.
type ReturnHistoryEntry struct {
	Status ReturnStatus `json:"status"`
	At     time.Time    `json:"at"`
}

// Return is one return of units of a completed order.
type Return struct {
	ID         string
	OrderID    string
	CustomerID string
	Status     ReturnStatus
	Items      []ReturnItem
	// Amount is what the units cost in the order: what is refunded.
	Amount       money.Money
	Reason       string
	RejectReason string
	// RefundID is the gateway's refund, once REFUNDED.
	RefundID  string
	History   []ReturnHistoryEntry
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ReturnRequest is a validated request to return units of an order.
type ReturnRequest struct {
	ReturnID   string
	OrderID    string
	CustomerID string
	Items      []events.Item
	Reason     string
	// IdempotencyKey, when set, makes a repeat with the same RequestHash
	// answer with the first return instead of requesting another.
	IdempotencyKey string
	RequestHash    string
	At             time.Time
	// Window is how long after completion the order may be returned
	// (DefaultReturnWindow when zero).
	Window time.Duration
}

// ReturnPlaced is the outcome of RequestReturn.
type ReturnPlaced struct {
	Return Return
	// Repeat is true when the idempotency key named a return requested
	// before.
	Repeat bool
}

// NotReturnableError is ErrReturnNotAllowed with why, in words.
type NotReturnableError struct{ Why string }

func (e *NotReturnableError) Error() string { return ErrReturnNotAllowed.Error() + ": " + e.Why }

func (e *NotReturnableError) Unwrap() error { return ErrReturnNotAllowed }

// ReturnError is ErrTooManyUnits or ErrNotInOrder for one product.
type ReturnError struct {
	Err       error
	ProductID string
	// Left is how many units of the product can still be returned.
	Left int64
}

func (e *ReturnError) Error() string {
	return fmt.Sprintf("%v: product %s (%d left to return)", e.Err, e.ProductID, e.Left)
}

func (e *ReturnError) Unwrap() error { return e.Err }

// RequestReturn records a return in REQUESTED with its RETURN_REQUESTED in
// the outbox, in one transaction that locks the order's row: of two
// concurrent returns of the same units, the second sees the first and is
// refused (ErrTooManyUnits). The order must be req.CustomerID's (else
// ErrNotFound), COMPLETED within the window (else ErrReturnNotAllowed).
func (s *Store) RequestReturn(ctx context.Context, req ReturnRequest, function string) (ReturnPlaced, error) {
	var out ReturnPlaced
	var evs []event.Event
	err := sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		out, evs = ReturnPlaced{}, nil
		if req.IdempotencyKey != "" {
			if err := returnKeys.claim(ctx, tx, req.CustomerID, req.IdempotencyKey, req.RequestHash, req.ReturnID, req.At); err != nil {
				return err
			}
		}
		r, err := requestReturn(ctx, tx, req)
		if err != nil {
			return err
		}
		e, err := returnEvent(ctx, function, r)
		if err != nil {
			return err
		}
		if err := outbox.AddSQL(ctx, tx, e); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		out.Return, evs = r, []event.Event{e}
		return nil
	})
	if errors.Is(err, errKeyTaken) {
		return s.repeatReturn(ctx, req)
	}
	if err != nil {
		return ReturnPlaced{}, fmt.Errorf("orderstore: request return: %w", err)
	}
	s.Published(ctx, evs...)
	return out, nil
}

func (s *Store) repeatReturn(ctx context.Context, req ReturnRequest) (ReturnPlaced, error) {
	id, err := returnKeys.first(ctx, s.db, req.CustomerID, req.IdempotencyKey, req.RequestHash)
	if err != nil {
		return ReturnPlaced{}, fmt.Errorf("orderstore: request return: %w", err)
	}
	r, err := s.GetReturn(ctx, id)
	if err != nil {
		return ReturnPlaced{}, fmt.Errorf("orderstore: request return: repeat: %w", err)
	}
	return ReturnPlaced{Return: r, Repeat: true}, nil
}

func requestReturn(ctx context.Context, tx *sql.Tx, req ReturnRequest) (Return, error) {
	o, err := getOrder(ctx, tx, req.OrderID, true)
	if err != nil {
		return Return{}, err
	}
	if o.CustomerID != req.CustomerID {
		return Return{}, ErrNotFound
	}
	completed, ok := o.At(Completed)
	if o.Status != Completed || !ok {
		return Return{}, &NotReturnableError{Why: fmt.Sprintf("it is %s, and only a COMPLETED order can be returned", o.Status)}
	}
	window := req.Window
	if window <= 0 {
		window = DefaultReturnWindow
	}
	if req.At.After(completed.Add(window)) {
		return Return{}, &NotReturnableError{Why: "the return window closed at " + completed.Add(window).Format(time.RFC3339)}
	}
	left, err := returnable(ctx, tx, o)
	if err != nil {
		return Return{}, err
	}
	prices := map[string]money.Money{}
	for _, it := range o.Items {
		prices[it.ProductID] = it.UnitPrice
	}
	r := Return{
		ID: req.ReturnID, OrderID: o.ID, CustomerID: o.CustomerID, Status: ReturnRequested, Reason: req.Reason,
		Amount: money.Money{Currency: o.Total.Currency}, Version: 1,
		CreatedAt: req.At.UTC(), UpdatedAt: req.At.UTC(),
		History: []ReturnHistoryEntry{{Status: ReturnRequested, At: req.At.UTC()}},
	}
	for _, it := range req.Items {
		unit, inOrder := prices[it.ProductID]
		switch {
		case !inOrder:
			return Return{}, &ReturnError{Err: ErrNotInOrder, ProductID: it.ProductID}
		case it.Quantity > left[it.ProductID]:
			return Return{}, &ReturnError{Err: ErrTooManyUnits, ProductID: it.ProductID, Left: left[it.ProductID]}
		}
		left[it.ProductID] -= it.Quantity
		line, err := money.Line(unit, it.Quantity)
		if err != nil {
			return Return{}, fmt.Errorf("amount: %w", err)
		}
		if r.Amount, err = money.Sum(r.Amount.Currency, r.Amount, line); err != nil {
			return Return{}, fmt.Errorf("amount: %w", err)
		}
		r.Items = append(r.Items, ReturnItem{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: unit})
	}
	items, history, err := encodeReturn(r)
	if err != nil {
		return Return{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO returns (id, order_id, customer_id, status, items, amount, currency,
		reason, history, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrderID, r.CustomerID, r.Status, items, r.Amount.Amount, r.Amount.Currency, r.Reason, history,
		r.Version, r.CreatedAt, r.UpdatedAt); err != nil {
		return Return{}, fmt.Errorf("insert return: %w", err)
	}
	return r, nil
}

// returnable is, per product of o, the units delivered less those in its
// returns that were not rejected. The caller holds o's row lock.
func returnable(ctx context.Context, tx *sql.Tx, o Order) (map[string]int64, error) {
	left := map[string]int64{}
	for _, it := range o.Items {
		left[it.ProductID] += it.Quantity
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+returnColumns+" FROM returns WHERE order_id = ? AND status <> ?", o.ID, ReturnRejected)
	if err != nil {
		return nil, fmt.Errorf("read returns: %w", err)
	}
	taken, err := collect(rows, scanReturn)
	if err != nil {
		return nil, fmt.Errorf("read returns: %w", err)
	}
	for _, r := range taken {
		for _, it := range r.Items {
			left[it.ProductID] -= it.Quantity
		}
	}
	return left, nil
}

const returnColumns = `id, order_id, customer_id, status, items, amount, currency, reason, reject_reason, refund_id,
	history, version, created_at, updated_at`

func scanReturn(row rowScanner) (Return, error) {
	var (
		r              Return
		items, history []byte
		reject, refund sql.NullString
	)
	err := row.Scan(&r.ID, &r.OrderID, &r.CustomerID, &r.Status, &items, &r.Amount.Amount, &r.Amount.Currency,
		&r.Reason, &reject, &refund, &history, &r.Version, &r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		return Return{}, err
	}
	if err := json.Unmarshal(items, &r.Items); err != nil {
		return Return{}, fmt.Errorf("items of return %s: %w", r.ID, err)
	}
	if err := json.Unmarshal(history, &r.History); err != nil {
		return Return{}, fmt.Errorf("history of return %s: %w", r.ID, err)
	}
	r.RejectReason, r.RefundID = reject.String, refund.String
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

func encodeReturn(r Return) (items, history []byte, err error) {
	if items, err = json.Marshal(r.Items); err != nil {
		return nil, nil, fmt.Errorf("items: %w", err)
	}
	if history, err = json.Marshal(r.History); err != nil {
		return nil, nil, fmt.Errorf("history: %w", err)
	}
	return items, history, nil
}

// GetReturn returns the return with id, or ErrNotFound.
func (s *Store) GetReturn(ctx context.Context, id string) (Return, error) {
	r, err := scanReturn(s.db.QueryRowContext(ctx, "SELECT "+returnColumns+" FROM returns WHERE id = ?", id))
	if err != nil {
		return Return{}, fmt.Errorf("orderstore: return %s: %w", id, sqlstore.NotFound(err, ErrNotFound))
	}
	return r, nil
}

// ReturnQuery selects a page of returns.
type ReturnQuery struct {
	OrderID    string // "" for every order
	CustomerID string // "" for every customer (an admin)
	Offset     int
	Limit      int
}

// ListReturns returns one page of the returns q selects, newest first, and
// how many it selects in all.
func (s *Store) ListReturns(ctx context.Context, q ReturnQuery) ([]Return, int, error) {
	where, args := " WHERE 1 = 1", []any{}
	if q.OrderID != "" {
		where, args = where+" AND order_id = ?", append(args, q.OrderID)
	}
	if q.CustomerID != "" {
		where, args = where+" AND customer_id = ?", append(args, q.CustomerID)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM returns"+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("orderstore: count returns: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+returnColumns+" FROM returns"+where+
		" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("orderstore: list returns: %w", err)
	}
	list, err := collect(rows, scanReturn)
	if err != nil {
		return nil, 0, fmt.Errorf("orderstore: list returns: %w", err)
	}
	return list, total, nil
}

// ReturnChange is a state change of a return.
type ReturnChange struct {
	To ReturnStatus
	// Reason is the rejection's reason (To == ReturnRejected).
	Reason string
	// RefundID is the gateway's refund (To == ReturnRefunded).
	RefundID string
	At       time.Time
}

// returnFrom is the one state each return state is entered from.
var returnFrom = map[ReturnStatus]ReturnStatus{
	ReturnReceived: ReturnRequested,
	ReturnRejected: ReturnRequested,
	ReturnRefunded: ReturnReceived,
}

// ReturnAdvanced is the result of AdvanceReturn.
type ReturnAdvanced struct {
	Outcome Outcome // Applied, AlreadyThere or Refused
	Return  Return  // after the call, changed or not
}

// AdvanceReturn moves return id to c.To when it is in the one state c.To is
// entered from, writing its event (RETURN_RECEIVED, RETURN_REJECTED; none
// for REFUNDED) to the outbox in the same transaction and publishing it
// after the commit. A return already in c.To is AlreadyThere; any other
// state is Refused. ErrNotFound when there is no such return.
func (s *Store) AdvanceReturn(ctx context.Context, id string, c ReturnChange, function string) (ReturnAdvanced, error) {
	from, ok := returnFrom[c.To]
	if !ok {
		return ReturnAdvanced{}, fmt.Errorf("orderstore: advance return %s: %s is not a state to move to", id, c.To)
	}
	var out ReturnAdvanced
	var evs []event.Event
	err := sqlstore.InTx(ctx, s.db, func(tx *sql.Tx) error {
		out, evs = ReturnAdvanced{}, nil
		r, err := scanReturn(tx.QueryRowContext(ctx, "SELECT "+returnColumns+" FROM returns WHERE id = ? FOR UPDATE", id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		switch r.Status {
		case c.To:
			out = ReturnAdvanced{Outcome: AlreadyThere, Return: r}
			return nil
		case from:
		default:
			out = ReturnAdvanced{Outcome: Refused, Return: r}
			return nil
		}
		at := c.At.UTC()
		r.Status, r.UpdatedAt, r.Version = c.To, at, r.Version+1
		r.History = append(r.History, ReturnHistoryEntry{Status: c.To, At: at})
		switch c.To {
		case ReturnRejected:
			r.RejectReason = c.Reason
		case ReturnRefunded:
			r.RefundID = c.RefundID
		}
		_, history, err := encodeReturn(r)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE returns SET status = ?, reject_reason = ?, refund_id = ?, history = ?,
			version = ?, updated_at = ? WHERE id = ?`, r.Status, orNull(r.RejectReason), orNull(r.RefundID),
			history, r.Version, r.UpdatedAt, r.ID); err != nil {
			return fmt.Errorf("update return: %w", err)
		}
		out = ReturnAdvanced{Outcome: Applied, Return: r}
		if c.To == ReturnRefunded {
			return nil
		}
		e, err := returnEvent(ctx, function, r)
		if err != nil {
			return err
		}
		evs = []event.Event{e}
		return outbox.AddSQL(ctx, tx, e)
	})
	if err != nil {
		return ReturnAdvanced{}, fmt.Errorf("orderstore: advance return %s: %w", id, err)
	}
	s.Published(ctx, evs...)
	return out, nil
}

// orNull stores "" as NULL.
func orNull(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// returnEvent is the event announcing r's current state (its id derives
// from the return and the type, so a rebuild has the same id).
func returnEvent(ctx context.Context, function string, r Return) (event.Event, error) {
	at := r.UpdatedAt
	var d events.Data
	switch r.Status {
	case ReturnRequested:
		items := make([]events.PricedItem, len(r.Items))
		for i, it := range r.Items {
			items[i] = events.PricedItem{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.UnitPrice}
		}
		d = events.ReturnRequestedData{ReturnID: r.ID, OrderID: r.OrderID, CustomerID: r.CustomerID, Items: items,
			Amount: r.Amount, Reason: r.Reason, RequestedAt: at}
	case ReturnReceived:
		items := make([]events.Item, len(r.Items))
		for i, it := range r.Items {
			items[i] = events.Item{ProductID: it.ProductID, Quantity: it.Quantity}
		}
		d = events.ReturnReceivedData{ReturnID: r.ID, OrderID: r.OrderID, CustomerID: r.CustomerID, Items: items,
			Amount: r.Amount, ReceivedAt: at}
	case ReturnRejected:
		d = events.ReturnRejectedData{ReturnID: r.ID, OrderID: r.OrderID, Reason: r.RejectReason, RejectedAt: at}
	default:
		return event.Event{}, fmt.Errorf("orderstore: no event announces a %s return", r.Status)
	}
	return withID(ctx, function, ids.Derive(r.ID, string(d.EventType())), d)
}
