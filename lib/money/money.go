// Package money is an amount of money in integer minor units with its
// currency, the only way knshop carries prices and totals. Every product and
// sum is checked: it fails rather than wrap, and the contract's limits
// (MaxPrice, MaxQuantity, MaxTotal) are enforced by Line and Sum.
package money

import (
	"errors"
	"fmt"
	"math"
)

// The contract's limits, in minor units and units.
const (
	// MaxPrice is the highest unit price: 1,000,000.00 in a 2-decimal currency.
	MaxPrice int64 = 100_000_000
	// MaxQuantity is the most units of one product in one order or cart line.
	MaxQuantity int64 = 10_000
	// MaxTotal is the highest order or cart total.
	MaxTotal int64 = 10_000_000_000
)

var (
	// ErrCurrencyMismatch is returned when amounts in different currencies meet.
	ErrCurrencyMismatch = errors.New("money: currency mismatch")
	// ErrInvalid is returned for a negative amount or a malformed currency.
	ErrInvalid = errors.New("money: invalid amount")
	// ErrOverflow is returned when a sum or product does not fit in int64.
	ErrOverflow = errors.New("money: arithmetic overflow")
	// ErrOverLimit is returned for a price, quantity or total beyond the
	// contract's limits.
	ErrOverLimit = errors.New("money: beyond the limit")
)

// ValidCurrency reports whether code has the shape of an ISO 4217 code:
// three upper-case ASCII letters. (A hand check, not a regexp: compiling one
// at package init costs every function's cold start.)
func ValidCurrency(code string) bool {
	if len(code) != 3 {
		return false
	}
	for i := range len(code) {
		if code[i] < 'A' || code[i] > 'Z' {
			return false
		}
	}
	return true
}

// Money is an amount in minor units (cents for USD) of an ISO 4217 currency.
type Money struct {
	Amount   int64  `json:"amount" bson:"amount"`
	Currency string `json:"currency" bson:"currency"`
}

// New returns amount minor units of currency.
func New(amount int64, currency string) Money { return Money{Amount: amount, Currency: currency} }

// Validate reports whether m is a non-negative amount in a well-formed currency.
func (m Money) Validate() error {
	if m.Amount < 0 {
		return fmt.Errorf("%w: negative amount %d", ErrInvalid, m.Amount)
	}
	if !ValidCurrency(m.Currency) {
		return fmt.Errorf("%w: currency %q is not an ISO 4217 code", ErrInvalid, m.Currency)
	}
	return nil
}

// Add returns m+o; both must be in the same currency and the sum must fit.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	s := m.Amount + o.Amount
	if (o.Amount > 0 && s < m.Amount) || (o.Amount < 0 && s > m.Amount) {
		return Money{}, fmt.Errorf("%w: %d + %d", ErrOverflow, m.Amount, o.Amount)
	}
	return Money{Amount: s, Currency: m.Currency}, nil
}

// Times returns m multiplied by n ≥ 0, failing when the product does not fit.
func (m Money) Times(n int64) (Money, error) {
	if n < 0 {
		return Money{}, fmt.Errorf("%w: negative quantity %d", ErrInvalid, n)
	}
	if n != 0 && (m.Amount > math.MaxInt64/n || m.Amount < math.MinInt64/n) {
		return Money{}, fmt.Errorf("%w: %d × %d", ErrOverflow, m.Amount, n)
	}
	return Money{Amount: m.Amount * n, Currency: m.Currency}, nil
}

// CheckPrice reports whether m can be a unit price: valid and at most MaxPrice.
func (m Money) CheckPrice() error {
	if err := m.Validate(); err != nil {
		return err
	}
	if m.Amount > MaxPrice {
		return fmt.Errorf("%w: price %d is over %d", ErrOverLimit, m.Amount, MaxPrice)
	}
	return nil
}

// Line is the cost of quantity units at price: the price at most MaxPrice,
// the quantity from 1 to MaxQuantity.
func Line(price Money, quantity int64) (Money, error) {
	if err := price.CheckPrice(); err != nil {
		return Money{}, err
	}
	if quantity < 1 || quantity > MaxQuantity {
		return Money{}, fmt.Errorf("%w: quantity %d is not from 1 to %d", ErrOverLimit, quantity, MaxQuantity)
	}
	return price.Times(quantity)
}

// Sum adds lines of one currency into a total of at most MaxTotal; no lines
// sum to zero in currency.
func Sum(currency string, lines ...Money) (Money, error) {
	total := Money{Currency: currency}
	for _, l := range lines {
		var err error
		if total, err = total.Add(l); err != nil {
			return Money{}, err
		}
		if total.Amount > MaxTotal {
			return Money{}, fmt.Errorf("%w: total is over %d", ErrOverLimit, MaxTotal)
		}
	}
	return total, nil
}

// String formats m as "19.99 USD" for logs and messages.
func (m Money) String() string {
	sign := ""
	a := uint64(m.Amount)
	if m.Amount < 0 {
		sign, a = "-", uint64(-(m.Amount+1))+1
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, a/100, a%100, m.Currency)
}
