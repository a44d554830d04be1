// Package auth issues and verifies knshop's access tokens: EdDSA (Ed25519)
// JWTs with sub, role, iss, aud, exp, iat and jti. The auth function signs
// with the private key; every other function verifies offline with the
// public key, through Middleware.
package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Role is what a user may do.
type Role string

// The roles.
const (
	Customer Role = "customer"
	Seller   Role = "seller"
	Courier  Role = "courier"
	Admin    Role = "admin"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case Customer, Seller, Courier, Admin:
		return true
	}
	return false
}

// Defaults of the token claims.
const (
	DefaultIssuer   = "knshop"
	DefaultAudience = "knshop-api"
	AccessTTL       = 15 * time.Minute
)

// ErrInvalidToken is returned for any token that must not be trusted.
var ErrInvalidToken = errors.New("auth: invalid access token")

// Claims are the verified claims of an access token.
type Claims struct {
	UserID    string
	Role      Role
	TokenID   string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// tokenClaims is the JWT payload.
type tokenClaims struct {
	Role Role `json:"role"`
	jwt.RegisteredClaims
}

// Config is what signing and verifying need, read once from the environment.
type Config struct {
	KeyID      string
	PublicKey  ed25519.PublicKey
	PrivateKey ed25519.PrivateKey // only the auth function has it
	Issuer     string
	Audience   string
}

// ConfigFrom reads JWT_PUBLIC_KEY (base64 of the 32-byte key), and when
// present JWT_PRIVATE_KEY (base64 of the 64-byte key), JWT_KEY_ID,
// JWT_ISSUER and JWT_AUDIENCE.
func ConfigFrom(cfg map[string]string) (Config, error) {
	c := Config{KeyID: cfg["JWT_KEY_ID"], Issuer: cfg["JWT_ISSUER"], Audience: cfg["JWT_AUDIENCE"]}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if s := cfg["JWT_PRIVATE_KEY"]; s != "" {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != ed25519.PrivateKeySize {
			return Config{}, errors.New("auth: JWT_PRIVATE_KEY must be the base64 of a 64-byte Ed25519 private key")
		}
		c.PrivateKey = ed25519.PrivateKey(b)
		c.PublicKey = c.PrivateKey.Public().(ed25519.PublicKey)
	}
	if s := cfg["JWT_PUBLIC_KEY"]; s != "" {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return Config{}, errors.New("auth: JWT_PUBLIC_KEY must be the base64 of a 32-byte Ed25519 public key")
		}
		if c.PublicKey != nil && !c.PublicKey.Equal(ed25519.PublicKey(b)) {
			return Config{}, errors.New("auth: JWT_PUBLIC_KEY does not match JWT_PRIVATE_KEY")
		}
		c.PublicKey = ed25519.PublicKey(b)
	}
	if c.PublicKey == nil {
		return Config{}, errors.New("auth: JWT_PUBLIC_KEY is not set")
	}
	if c.KeyID == "" {
		c.KeyID = KeyID(c.PublicKey)
	}
	return c, nil
}

// KeyID derives a stable key id from a public key.
func KeyID(pub ed25519.PublicKey) string {
	return base64.RawURLEncoding.EncodeToString(pub[:8])
}

// GenerateKey makes a new Ed25519 key pair, for the local run and tests.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("auth: generate key: %w", err)
	}
	return priv, nil
}

// EnvFor returns the environment entries that carry priv to the functions:
// JWT_PUBLIC_KEY for all, JWT_PRIVATE_KEY for auth, and JWT_KEY_ID.
func EnvFor(priv ed25519.PrivateKey) map[string]string {
	pub := priv.Public().(ed25519.PublicKey)
	return map[string]string{
		"JWT_PUBLIC_KEY":  base64.StdEncoding.EncodeToString(pub),
		"JWT_PRIVATE_KEY": base64.StdEncoding.EncodeToString(priv),
		"JWT_KEY_ID":      KeyID(pub),
	}
}

// Signer issues access tokens. Only the auth function builds one.
type Signer struct {
	cfg Config
	now func() time.Time
}

// NewSigner returns a Signer; cfg must hold the private key.
func NewSigner(cfg Config) (*Signer, error) {
	if cfg.PrivateKey == nil {
		return nil, errors.New("auth: a signer needs JWT_PRIVATE_KEY")
	}
	return &Signer{cfg: cfg, now: time.Now}, nil
}

// Sign issues an access token for userID with role, valid for AccessTTL.
func (s *Signer) Sign(userID string, role Role) (token string, expiresAt time.Time, err error) {
	now := s.now().UTC().Truncate(time.Second)
	expiresAt = now.Add(AccessTTL)
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, tokenClaims{
		Role: role,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   userID,
			Issuer:    s.cfg.Issuer,
			Audience:  jwt.ClaimStrings{s.cfg.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expiresAt),
			ID:        uuid.NewString(),
		},
	})
	t.Header["kid"] = s.cfg.KeyID
	token, err = t.SignedString(s.cfg.PrivateKey)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign: %w", err)
	}
	return token, expiresAt, nil
}

// Verifier checks access tokens offline with the public key.
type Verifier struct {
	cfg    Config
	parser *jwt.Parser
}

// NewVerifier returns a Verifier for cfg's public key, issuer and audience.
func NewVerifier(cfg Config) *Verifier {
	return &Verifier{cfg: cfg, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)}
}

// Verify returns the claims of a valid token. Another algorithm (none
// included), another key, a wrong iss or aud, or a past exp is
// ErrInvalidToken.
func (v *Verifier) Verify(token string) (Claims, error) {
	var c tokenClaims
	_, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if kid, ok := t.Header["kid"].(string); ok && kid != v.cfg.KeyID {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return v.cfg.PublicKey, nil
	})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.Subject == "" || !c.Role.Valid() || c.ID == "" || c.IssuedAt == nil {
		return Claims{}, fmt.Errorf("%w: missing sub, role, jti or iat", ErrInvalidToken)
	}
	return Claims{UserID: c.Subject, Role: c.Role, TokenID: c.ID, IssuedAt: c.IssuedAt.Time, ExpiresAt: c.ExpiresAt.Time}, nil
}

// JWK is one JSON Web Key of an Ed25519 public key.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// KeySet returns the JWKS publishing cfg's public key.
func KeySet(cfg Config) JWKS {
	return JWKS{Keys: []JWK{{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(cfg.PublicKey), Kid: cfg.KeyID, Alg: "EdDSA", Use: "sig"}}}
}
