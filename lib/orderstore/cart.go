package orderstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/sqlstore"
)

// CartLine is an item in a cart, priced from the read model now.
type CartLine struct {
	ProductID string      `json:"productId"`
	Name      string      `json:"name"`
	Quantity  int64       `json:"quantity"`
	UnitPrice money.Money `json:"unitPrice"`
}

// Cart is a customer's cart.
type Cart struct {
	Items []CartLine `json:"items"`
	// Total is nil for an empty cart, which has no currency.
	Total *money.Money `json:"total"`
}

// Cart returns the customer's cart, oldest item first, priced from the read
// model.
func (s *Store) Cart(ctx context.Context, customerID string) (Cart, error) {
	c, err := cart(ctx, s.db, customerID)
	if err != nil {
		return Cart{}, fmt.Errorf("orderstore: cart of %s: %w", customerID, err)
	}
	return c, nil
}

func cart(ctx context.Context, q sqlstore.Queryer, customerID string) (Cart, error) {
	lines, err := cartLines(ctx, q, customerID)
	if err != nil {
		return Cart{}, err
	}
	c := Cart{Items: append([]CartLine{}, lines...)}
	if c.Total, err = cartTotal(lines); err != nil {
		return Cart{}, err
	}
	return c, nil
}

// cartLines reads the cart's lines priced from the read model.
func cartLines(ctx context.Context, q sqlstore.Queryer, customerID string) ([]CartLine, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.product_id, COALESCE(p.name, ''), c.quantity,
		COALESCE(p.price_amount, 0), COALESCE(p.price_currency, '')
		FROM cart_items c LEFT JOIN products p ON p.id = c.product_id
		WHERE c.customer_id = ? ORDER BY c.added_at, c.product_id`, customerID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (CartLine, error) {
		var l CartLine
		err := r.Scan(&l.ProductID, &l.Name, &l.Quantity, &l.UnitPrice.Amount, &l.UnitPrice.Currency)
		return l, err
	})
}

// cartTotal is the checked sum of the lines (nil for none): ErrMixedCurrency
// or ErrTotalOverLimit when it cannot be one amount within the limits.
func cartTotal(lines []CartLine) (*money.Money, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	total := money.Money{Currency: lines[0].UnitPrice.Currency}
	for _, l := range lines {
		line, err := l.UnitPrice.Times(l.Quantity)
		if err == nil {
			total, err = money.Sum(total.Currency, total, line)
		}
		if err != nil {
			return nil, totalError(err)
		}
	}
	return &total, nil
}

// withLine is lines with l in place of the line of its product, or added.
func withLine(lines []CartLine, l CartLine) []CartLine {
	out := make([]CartLine, 0, len(lines)+1)
	for _, x := range lines {
		if x.ProductID != l.ProductID {
			out = append(out, x)
		}
	}
	return append(out, l)
}

// totalError maps a failed sum onto the domain's errors.
func totalError(err error) error {
	if errors.Is(err, money.ErrCurrencyMismatch) {
		return fmt.Errorf("%w: %v", ErrMixedCurrency, err)
	}
	return fmt.Errorf("%w: %v", ErrTotalOverLimit, err)
}

// SetCartItem puts quantity of the product in the cart; 0 removes it. The
// product must be orderable now (a *ProductError otherwise), except when
// removing.
func (s *Store) SetCartItem(ctx context.Context, customerID, productID string, quantity int64, at time.Time) (Cart, error) {
	if quantity == 0 {
		return s.RemoveCartItem(ctx, customerID, productID)
	}
	p, err := product(ctx, s.db, productID)
	switch {
	case errors.Is(err, ErrNotFound):
		return Cart{}, &ProductError{ProductID: productID, Reason: "unknown"}
	case err != nil:
		return Cart{}, fmt.Errorf("orderstore: set cart item: %w", err)
	case !p.Available():
		reason := "out of stock"
		if p.Deleted {
			reason = "deleted"
		}
		return Cart{}, &ProductError{ProductID: productID, Reason: reason}
	}
	// The cart as it would be must have a total within the limits (checked
	// before anything is written; placing the order checks it again).
	lines, err := cartLines(ctx, s.db, customerID)
	if err != nil {
		return Cart{}, fmt.Errorf("orderstore: set cart item: %w", err)
	}
	if _, err := cartTotal(withLine(lines, CartLine{ProductID: productID, Quantity: quantity, UnitPrice: p.Price})); err != nil {
		return Cart{}, err
	}
	// One statement, so two racing requests leave one row with the last
	// quantity rather than a duplicate-key failure.
	if _, err := s.db.ExecContext(ctx, `INSERT INTO cart_items (customer_id, product_id, quantity, added_at)
		VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE quantity = VALUES(quantity)`,
		customerID, productID, quantity, at.UTC()); err != nil {
		return Cart{}, fmt.Errorf("orderstore: set cart item: %w", err)
	}
	return s.Cart(ctx, customerID)
}

// RemoveCartItem takes the product out of the cart (no error when absent).
func (s *Store) RemoveCartItem(ctx context.Context, customerID, productID string) (Cart, error) {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM cart_items WHERE customer_id = ? AND product_id = ?`,
		customerID, productID); err != nil {
		return Cart{}, fmt.Errorf("orderstore: remove cart item: %w", err)
	}
	return s.Cart(ctx, customerID)
}

// ClearCart empties the customer's cart.
func (s *Store) ClearCart(ctx context.Context, customerID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM cart_items WHERE customer_id = ?`, customerID); err != nil {
		return fmt.Errorf("orderstore: clear cart: %w", err)
	}
	return nil
}

// cartItems reads the cart's items in tx, locking them.
func cartItems(ctx context.Context, tx *sql.Tx, customerID string) ([]CartLine, error) {
	rows, err := tx.QueryContext(ctx, `SELECT product_id, quantity FROM cart_items WHERE customer_id = ?
		ORDER BY added_at, product_id FOR UPDATE`, customerID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (CartLine, error) {
		var l CartLine
		err := r.Scan(&l.ProductID, &l.Quantity)
		return l, err
	})
}
