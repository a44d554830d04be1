// Package identity holds the MongoDB stores of the identity database that
// more than one function uses: the credentials and refresh tokens (auth and
// purge-credentials) and the profiles (users and create-profile). Each
// store keeps to its own collections; the users side never reads the
// credentials and the auth side never reads the profiles.
package identity

import (
	"errors"
	"net/mail"
	"strings"

	"github.com/knshop/knshop/lib/mongostore"
)

// Database is the MongoDB database of the identity functions.
const Database = "identity"

// ConfigFrom reads where the identity database lives: MONGODB_URI and
// KNSHOP_SERIALIZE_DB, and IDENTITY_DATABASE to name another database than
// "identity" (areadb's rule; tests give each run its own).
func ConfigFrom(cfg map[string]string) (mongostore.Config, error) {
	return mongostore.ConfigFrom(cfg, Database)
}

// Collection names.
const (
	CredentialsCollection   = "credentials"
	RefreshTokensCollection = "refresh_tokens"
	ProfilesCollection      = "profiles"
)

// Sentinel errors of the identity stores.
var (
	// ErrNotFound: no such credential or profile (or it was deleted).
	ErrNotFound = errors.New("identity: not found")
	// ErrEmailTaken: another account already uses the email.
	ErrEmailTaken = errors.New("identity: email already registered")
	// ErrTokenInvalid: the refresh token is unknown, expired or revoked.
	ErrTokenInvalid = errors.New("identity: refresh token not valid")
	// ErrTokenReused: an already rotated refresh token came back; its
	// whole family has been revoked.
	ErrTokenReused = errors.New("identity: refresh token reused")
	// ErrBusy: the document kept changing under a read-modify-write.
	ErrBusy = errors.New("identity: concurrent updates, try again")
	// ErrNoSink: a store opened without an event sender was asked for a
	// change that emits events.
	ErrNoSink = errors.New("identity: no event sink configured")
)

// MaxEmailLength bounds an email address (RFC 5321's path limit).
const MaxEmailLength = 254

// NormalizeEmail returns the form emails are stored and compared in:
// trimmed and lower-cased, so addresses match case-insensitively.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// ValidEmail reports whether s (normalized) is a plain address: local@domain
// with a dot in the domain, no display name, no spaces.
func ValidEmail(s string) bool {
	if s == "" || len(s) > MaxEmailLength || strings.ContainsAny(s, " \t\r\n<>") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}
