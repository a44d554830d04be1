// Package orderstore is the MySQL database `orders`: carts, orders with their
// items and history, the read models of products and customers that orders
// are priced and addressed from, idempotency keys, and the order state
// machine every function that changes an order goes through.
package orderstore

import (
	"errors"
	"slices"
)

// Status is the state of an order.
type Status string

// The order states, in the order an order moves through them; Cancelled is
// reachable from every state before Shipping.
const (
	Pending   Status = "PENDING"
	Reserved  Status = "RESERVED"
	Paid      Status = "PAID"
	Shipping  Status = "SHIPPING"
	InTransit Status = "IN_TRANSIT"
	Completed Status = "COMPLETED"
	Cancelled Status = "CANCELLED"
)

// Statuses are every order state, in that order.
var Statuses = []Status{Pending, Reserved, Paid, Shipping, InTransit, Completed, Cancelled}

// rank orders the forward path; terminal states have no rank.
var rank = map[Status]int{Pending: 1, Reserved: 2, Paid: 3, Shipping: 4, InTransit: 5, Completed: 6}

// UnpaidStates are the states of an order waiting for its payment: it has a
// deadline, and a failed reservation or payment, or the deadline, cancels it.
var UnpaidStates = []Status{Pending, Reserved}

// Unpaid reports whether s is one of UnpaidStates.
func (s Status) Unpaid() bool { return slices.Contains(UnpaidStates, s) }

// InFlight are the states an order can stall in, earliest first.
var InFlight = []Status{Pending, Reserved, Paid, Shipping, InTransit}

// Open reports whether an order in s can still be cancelled.
func (s Status) Open() bool { r := rank[s]; return r > 0 && r < rank[Shipping] }

// CanMove reports whether an order may go from one state to another. Moves
// only go forward. Skipping forward is allowed (PENDING → PAID, PAID →
// IN_TRANSIT) because each step is applied by a different consumer of the
// broker, and an event reporting a later step proves the earlier ones
// happened even when their reactions have not been applied yet. Completed
// and Cancelled are final; Cancelled is only reachable before Shipping.
func CanMove(from, to Status) bool {
	if from == Completed || from == Cancelled || from == to {
		return false
	}
	if to == Cancelled {
		return from.Open()
	}
	return rank[from] > 0 && rank[to] > rank[from]
}

// Errors of the orders domain.
var (
	// ErrNotFound: no such order (or it is not the caller's to see).
	ErrNotFound = errors.New("orderstore: not found")
	// ErrUnknownProduct: an item names a product the read model does not
	// know, or one that is deleted or out of stock. Wrapped by *ProductError.
	ErrUnknownProduct = errors.New("orderstore: unknown or unavailable product")
	// ErrEmptyCart: an order from the cart, but the cart is empty.
	ErrEmptyCart = errors.New("orderstore: the cart is empty")
	// ErrMixedCurrency: the items are priced in different currencies.
	ErrMixedCurrency = errors.New("orderstore: items priced in different currencies")
	// ErrTotalOverLimit: the total would be over money.MaxTotal (or could
	// not be computed without overflow).
	ErrTotalOverLimit = errors.New("orderstore: the total is over the limit")
	// ErrIdempotencyMismatch: the idempotency key was used with another body.
	ErrIdempotencyMismatch = errors.New("orderstore: idempotency key reused with another request")
	// ErrConcurrentChange: the order changed under us; the caller may retry.
	ErrConcurrentChange = errors.New("orderstore: order changed concurrently")
)

// ProductError names the product an item could not be priced for.
type ProductError struct {
	ProductID string
	Reason    string // "unknown", "deleted" or "out of stock"
}

func (e *ProductError) Error() string {
	return "orderstore: product " + e.ProductID + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrUnknownProduct) hold.
func (e *ProductError) Unwrap() error { return ErrUnknownProduct }
