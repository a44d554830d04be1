package orderstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/sqlstore"
)

// Product is the orders side's copy of a product: what it is sold as.
type Product struct {
	ID        string
	Name      string
	Price     money.Money
	Stock     int64
	Deleted   bool
	Version   int64
	UpdatedAt time.Time
}

// Available reports whether the product can be ordered.
func (p Product) Available() bool { return !p.Deleted && p.Stock > 0 }

// ApplyProduct stores p unless the read model already holds the same or a
// newer version of it, and reports whether it was applied. A deletion wins
// over an update of the same version, and a deleted product stays deleted
// against older events (its row is kept as a tombstone).
func (s *Store) ApplyProduct(ctx context.Context, p Product) (bool, error) {
	// INSERT IGNORE first, then a guarded UPDATE when the row was there:
	// two racing first events cannot both insert, and the loser still
	// applies if it is the newer one.
	res, err := s.db.ExecContext(ctx, `INSERT IGNORE INTO products
		(id, name, price_amount, price_currency, stock, deleted, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Name, p.Price.Amount, p.Price.Currency, p.Stock, p.Deleted, p.Version, p.UpdatedAt.UTC())
	if err != nil {
		return false, fmt.Errorf("orderstore: apply product %s: %w", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("orderstore: apply product %s: %w", p.ID, err)
	} else if n == 1 {
		return true, nil
	}
	guard := "version < ?"
	if p.Deleted {
		guard = "(version < ? OR (version = ? AND deleted = FALSE))"
	}
	args := []any{p.Name, p.Price.Amount, p.Price.Currency, p.Stock, p.Deleted, p.Version, p.UpdatedAt.UTC(), p.ID, p.Version}
	if p.Deleted {
		args = append(args, p.Version)
	}
	res, err = s.db.ExecContext(ctx, `UPDATE products SET name = ?, price_amount = ?, price_currency = ?, stock = ?,
		deleted = ?, version = ?, updated_at = ? WHERE id = ? AND `+guard, args...)
	if err != nil {
		return false, fmt.Errorf("orderstore: apply product %s: %w", p.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("orderstore: apply product %s: %w", p.ID, err)
	}
	return n > 0, nil
}

// DeleteProduct marks the product deleted at version, keeping the last
// known name and price, or inserts a tombstone when it was never seen.
func (s *Store) DeleteProduct(ctx context.Context, id string, version int64, at time.Time) (bool, error) {
	p, err := s.Product(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		p = Product{ID: id, Price: money.Money{Currency: "XXX"}}
	case err != nil:
		return false, err
	}
	p.Deleted, p.Version, p.UpdatedAt, p.Stock = true, version, at, 0
	return s.ApplyProduct(ctx, p)
}

// Product returns the read model's product with id.
func (s *Store) Product(ctx context.Context, id string) (Product, error) {
	p, err := product(ctx, s.db, id)
	if err != nil {
		return Product{}, fmt.Errorf("orderstore: product %s: %w", id, err)
	}
	return p, nil
}

func product(ctx context.Context, q sqlstore.Queryer, id string) (Product, error) {
	var p Product
	err := q.QueryRowContext(ctx, `SELECT id, name, price_amount, price_currency, stock, deleted, version, updated_at
		FROM products WHERE id = ?`, id).Scan(&p.ID, &p.Name, &p.Price.Amount, &p.Price.Currency, &p.Stock, &p.Deleted, &p.Version, &p.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, ErrNotFound
	}
	p.UpdatedAt = p.UpdatedAt.UTC()
	return p, err
}

// price looks every item up in the read model and prices it; an unknown,
// deleted or out-of-stock product is a *ProductError.
func price(ctx context.Context, q sqlstore.Queryer, items []events.Item) ([]Item, money.Money, error) {
	out := make([]Item, 0, len(items))
	var total money.Money
	for i, it := range items {
		p, err := product(ctx, q, it.ProductID)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, money.Money{}, &ProductError{ProductID: it.ProductID, Reason: "unknown"}
		case err != nil:
			return nil, money.Money{}, err
		case p.Deleted:
			return nil, money.Money{}, &ProductError{ProductID: it.ProductID, Reason: "deleted"}
		case p.Stock <= 0:
			return nil, money.Money{}, &ProductError{ProductID: it.ProductID, Reason: "out of stock"}
		}
		line, err := money.Line(p.Price, it.Quantity)
		if err != nil {
			return nil, money.Money{}, &ProductError{ProductID: it.ProductID, Reason: "priced beyond the limits (" + err.Error() + ")"}
		}
		if i == 0 {
			total = money.Money{Currency: p.Price.Currency}
		}
		if total, err = money.Sum(total.Currency, total, line); err != nil {
			return nil, money.Money{}, totalError(err)
		}
		out = append(out, Item{ProductID: p.ID, Name: p.Name, Quantity: it.Quantity, UnitPrice: p.Price})
	}
	return out, total, nil
}

// Customer is the orders side's copy of a user profile.
type Customer struct {
	ID        string
	Email     string
	Name      string
	Addresses []events.Address
	Version   int64
	UpdatedAt time.Time
}

// Address returns the customer's address with id.
func (c Customer) Address(id string) (events.Address, bool) {
	for _, a := range c.Addresses {
		if a.ID == id {
			return a, true
		}
	}
	return events.Address{}, false
}

// ApplyCustomer stores c unless a newer profile is already stored (higher
// version, or the same version and a later or equal updatedAt), and then
// refreshes the customer snapshot of the customer's unfinished orders.
func (s *Store) ApplyCustomer(ctx context.Context, c Customer) (bool, error) {
	if c.Addresses == nil {
		c.Addresses = []events.Address{}
	}
	addrs, err := json.Marshal(c.Addresses)
	if err != nil {
		return false, fmt.Errorf("orderstore: apply customer %s: %w", c.ID, err)
	}
	at := c.UpdatedAt.UTC()
	res, err := s.db.ExecContext(ctx, `INSERT IGNORE INTO customers (id, email, name, addresses, version, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`, c.ID, c.Email, c.Name, string(addrs), c.Version, at)
	if err != nil {
		return false, fmt.Errorf("orderstore: apply customer %s: %w", c.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("orderstore: apply customer %s: %w", c.ID, err)
	}
	if n == 0 {
		res, err = s.db.ExecContext(ctx, `UPDATE customers SET email = ?, name = ?, addresses = ?, version = ?, updated_at = ?
			WHERE id = ? AND (version < ? OR (version = ? AND updated_at < ?))`,
			c.Email, c.Name, string(addrs), c.Version, at, c.ID, c.Version, c.Version, at)
		if err != nil {
			return false, fmt.Errorf("orderstore: apply customer %s: %w", c.ID, err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return false, fmt.Errorf("orderstore: apply customer %s: %w", c.ID, err)
		}
	}
	if n == 0 {
		return false, nil
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE orders SET customer_email = ?, customer_name = ?
		WHERE customer_id = ? AND status NOT IN (?, ?)`, c.Email, c.Name, c.ID, Completed, Cancelled); err != nil {
		return true, fmt.Errorf("orderstore: refresh snapshot of %s: %w", c.ID, err)
	}
	return true, nil
}

// Customer returns the read model's customer with id.
func (s *Store) Customer(ctx context.Context, id string) (Customer, error) {
	c, err := customer(ctx, s.db, id)
	if err != nil {
		return Customer{}, fmt.Errorf("orderstore: customer %s: %w", id, err)
	}
	return c, nil
}

func customer(ctx context.Context, q sqlstore.Queryer, id string) (Customer, error) {
	var (
		c     Customer
		addrs []byte
	)
	err := q.QueryRowContext(ctx, `SELECT id, email, name, addresses, version, updated_at FROM customers WHERE id = ?`, id).
		Scan(&c.ID, &c.Email, &c.Name, &addrs, &c.Version, &c.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Customer{}, ErrNotFound
	}
	if err != nil {
		return Customer{}, err
	}
	if err := json.Unmarshal(addrs, &c.Addresses); err != nil {
		return Customer{}, fmt.Errorf("addresses: %w", err)
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, nil
}
