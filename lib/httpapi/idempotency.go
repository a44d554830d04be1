package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
)

// MaxIdempotencyKey is the longest Idempotency-Key a route takes.
const MaxIdempotencyKey = 255

// IdempotencyKey returns the request's Idempotency-Key header ("" when
// there is none), or a 400 naming the header when it is too long.
func IdempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > MaxIdempotencyKey {
		return "", Invalid(FieldError{Field: "Idempotency-Key", Message: fmt.Sprintf("at most %d characters", MaxIdempotencyKey)})
	}
	return key, nil
}

// RequestHash identifies a decoded request for the Idempotency-Key check:
// the SHA-256 (hex) of v marshalled again, so the body's formatting does
// not matter.
func RequestHash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// DecodeKeyed reads a request sent under an Idempotency-Key: its body into
// v (Decode), the key (IdempotencyKey), then checks v with check; the first
// problem is the error.
func DecodeKeyed(w http.ResponseWriter, r *http.Request, v any, check func() error) (key string, err error) {
	if err := Decode(w, r, v); err != nil {
		return "", err
	}
	if key, err = IdempotencyKey(r); err != nil {
		return "", err
	}
	return key, check()
}
