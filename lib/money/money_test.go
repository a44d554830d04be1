package money

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		m       Money
		wantErr bool
	}{
		"ok":               {New(1999, "USD"), false},
		"zero":             {New(0, "EUR"), false},
		"negative":         {New(-1, "USD"), true},
		"lowercase code":   {New(1, "usd"), true},
		"missing code":     {New(1, ""), true},
		"four letter code": {New(1, "USDX"), true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.m.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate(%v) = %v, want error %v", tc.m, err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestAddRefusesMixedCurrencies(t *testing.T) {
	t.Parallel()
	if _, err := New(1, "USD").Add(New(1, "EUR")); !errors.Is(err, ErrCurrencyMismatch) {
		t.Fatalf("Add across currencies = %v, want ErrCurrencyMismatch", err)
	}
	got, err := New(150, "USD").Add(New(250, "USD"))
	if err != nil || got != New(400, "USD") {
		t.Fatalf("Add = %v, %v; want 4.00 USD", got, err)
	}
	if s := New(2, "USD").Times(3).String(); s != "0.06 USD" {
		t.Fatalf("String = %q", s)
	}
}
