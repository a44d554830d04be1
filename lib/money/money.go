// Package money is an amount of money in integer minor units with its
// currency, the only way knshop carries prices and totals.
package money

import (
	"errors"
	"fmt"
	"regexp"
)

// ErrCurrencyMismatch is returned when amounts in different currencies meet.
var ErrCurrencyMismatch = errors.New("money: currency mismatch")

// ErrInvalid is returned for a negative amount or a malformed currency.
var ErrInvalid = errors.New("money: invalid amount")

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

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
	if !currencyCode.MatchString(m.Currency) {
		return fmt.Errorf("%w: currency %q is not an ISO 4217 code", ErrInvalid, m.Currency)
	}
	return nil
}

// Add returns m+o; both must be in the same currency.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	return Money{Amount: m.Amount + o.Amount, Currency: m.Currency}, nil
}

// Times returns m multiplied by a quantity.
func (m Money) Times(n int64) Money { return Money{Amount: m.Amount * n, Currency: m.Currency} }

// String formats m as "19.99 USD" for logs and messages.
func (m Money) String() string {
	sign := ""
	a := m.Amount
	if a < 0 {
		sign, a = "-", -a
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, a/100, a%100, m.Currency)
}
