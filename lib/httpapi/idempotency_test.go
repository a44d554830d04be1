package httpapi

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestIdempotencyKey(t *testing.T) {
	r := httptest.NewRequest("POST", "/", nil)
	if k, err := IdempotencyKey(r); k != "" || err != nil {
		t.Fatalf("no header = %q, %v", k, err)
	}
	r.Header.Set("Idempotency-Key", strings.Repeat("k", MaxIdempotencyKey))
	if k, err := IdempotencyKey(r); len(k) != MaxIdempotencyKey || err != nil {
		t.Fatalf("255 characters = %d, %v", len(k), err)
	}
	r.Header.Set("Idempotency-Key", strings.Repeat("k", MaxIdempotencyKey+1))
	var p *Problem
	if _, err := IdempotencyKey(r); !errors.As(err, &p) || p.Status != 400 || p.Errors[0].Field != "Idempotency-Key" {
		t.Fatalf("256 characters = %v", err)
	}
}

func TestRequestHashIgnoresFormattingNotContent(t *testing.T) {
	type req struct {
		A string `json:"a"`
		N int    `json:"n"`
	}
	h1, _ := RequestHash(req{"x", 1})
	h2, _ := RequestHash(req{"x", 1})
	h3, _ := RequestHash(req{"x", 2})
	if h1 != h2 || h1 == h3 || len(h1) != 64 {
		t.Fatalf("hashes %s %s %s", h1, h2, h3)
	}
}
