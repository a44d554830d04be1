// Package ids makes the opaque identifiers knshop hands out: time-ordered
// UUIDs (version 7) as strings, so ids sort roughly by creation.
package ids

import (
	"fmt"

	"github.com/google/uuid"
)

// New returns a new time-ordered id. It falls back to a random (v4) UUID in
// the unlikely case the clock-based generator fails.
func New() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// Valid reports whether s looks like an id knshop issued (a UUID).
func Valid(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// Derive returns a stable id for name within namespace id ns (UUIDv5), so a
// retried step can compute the same id again instead of minting a new one.
func Derive(ns, name string) string {
	base, err := uuid.Parse(ns)
	if err != nil {
		base = uuid.NewSHA1(uuid.NameSpaceURL, []byte(ns))
	}
	return uuid.NewSHA1(base, []byte(name)).String()
}

// Check returns an error naming field when s is not a valid id.
func Check(field, s string) error {
	if !Valid(s) {
		return fmt.Errorf("ids: %s %q is not a valid id", field, s)
	}
	return nil
}
