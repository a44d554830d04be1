package money

import (
	"errors"
	"math"
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
		"two letter code":  {New(1, "US"), true},
		"digit in code":    {New(1, "US1"), true},
		"mixed case code":  {New(1, "UsD"), true},
		"letter past Z":    {New(1, "US["), true},
		"letter before A":  {New(1, "@SD"), true},
		"non-ASCII code":   {New(1, "USÐ"), true},
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
	six, err := New(2, "USD").Times(3)
	if err != nil || six.String() != "0.06 USD" {
		t.Fatalf("Times/String = %q, %v", six.String(), err)
	}
}

func TestArithmeticNeverWraps(t *testing.T) {
	t.Parallel()
	usd := func(a int64) Money { return New(a, "USD") }
	cases := map[string]struct {
		do      func() (Money, error)
		want    Money
		wantErr error
	}{
		"add at the edge":             {do: func() (Money, error) { return usd(math.MaxInt64 - 1).Add(usd(1)) }, want: usd(math.MaxInt64)},
		"add past the edge":           {do: func() (Money, error) { return usd(math.MaxInt64).Add(usd(1)) }, wantErr: ErrOverflow},
		"add negatives past the edge": {do: func() (Money, error) { return usd(math.MinInt64).Add(usd(-1)) }, wantErr: ErrOverflow},
		"times near 2^62 by 4":        {do: func() (Money, error) { return usd(1<<62 + 75).Times(4) }, wantErr: ErrOverflow},
		"times max by 1":              {do: func() (Money, error) { return usd(math.MaxInt64).Times(1) }, want: usd(math.MaxInt64)},
		"times by 0":                  {do: func() (Money, error) { return usd(math.MaxInt64).Times(0) }, want: usd(0)},
		"times negative quantity":     {do: func() (Money, error) { return usd(5).Times(-1) }, wantErr: ErrInvalid},
		"times wraps to zero":         {do: func() (Money, error) { return usd(1 << 62).Times(4) }, wantErr: ErrOverflow},
		"line at the limits":          {do: func() (Money, error) { return Line(usd(MaxPrice), MaxQuantity) }, want: usd(MaxPrice * MaxQuantity)},
		"line price over the limit":   {do: func() (Money, error) { return Line(usd(MaxPrice+1), 1) }, wantErr: ErrOverLimit},
		"line quantity over limit":    {do: func() (Money, error) { return Line(usd(1), MaxQuantity+1) }, wantErr: ErrOverLimit},
		"line quantity zero":          {do: func() (Money, error) { return Line(usd(1), 0) }, wantErr: ErrOverLimit},
		"line negative price":         {do: func() (Money, error) { return Line(usd(-1), 1) }, wantErr: ErrInvalid},
		"sum at the total limit":      {do: func() (Money, error) { return Sum("USD", usd(MaxTotal-1), usd(1)) }, want: usd(MaxTotal)},
		"sum past the total limit":    {do: func() (Money, error) { return Sum("USD", usd(MaxTotal), usd(1)) }, wantErr: ErrOverLimit},
		"sum that would overflow":     {do: func() (Money, error) { return Sum("USD", usd(math.MaxInt64), usd(math.MaxInt64)) }, wantErr: ErrOverLimit},
		"sum of mixed currencies":     {do: func() (Money, error) { return Sum("USD", usd(1), New(1, "EUR")) }, wantErr: ErrCurrencyMismatch},
		"sum of nothing":              {do: func() (Money, error) { return Sum("EUR") }, want: New(0, "EUR")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.do()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, %v; want error %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if s := usd(math.MinInt64).String(); s != "-92233720368547758.08 USD" {
		t.Fatalf("String of MinInt64 = %q", s)
	}
}
