// Package auth is the auth function: registration, login, refresh-token
// rotation, logout and the JSON Web Key Set of the access-token key. It
// owns the credentials, refresh tokens and login counters of the identity
// database and announces new accounts with USER_REGISTERED.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	jwtauth "github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/identity"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/sink"
)

// Name is the function's name: its event source and its Service.
const Name = "auth"

// Limits of the login rate limiter and of the tokens.
const (
	AccountFailureLimit = 5  // failed logins per account per window
	AddressFailureLimit = 20 // failed logins per client address per window
	LoginWindow         = 15 * time.Minute
	RefreshTTL          = 30 * 24 * time.Hour
	MinPasswordLength   = 8
	MaxPasswordLength   = 256 // argon2 takes any length; this bounds the work per request
	MaxNameLength       = 100
)

// errBadCredentials is a login with an unknown email or a wrong password:
// one error, one answer, so the two cannot be told apart.
var errBadCredentials = errors.New("auth: wrong email or password")

// rateLimited is a login refused by the limiter.
type rateLimited struct{ wait time.Duration }

func (r rateLimited) Error() string { return "auth: too many failed logins" }

// Config is the auth function's configuration, read once in Start.
type Config struct {
	JWT           jwtauth.Config
	Store         mongostore.Config
	Sink          string // K_SINK
	AdminEmail    string
	AdminPassword string
	TrustProxy    bool // take the client address from X-Forwarded-For
	Argon2        Argon2Params
}

// ConfigFrom reads the JWT_* keys, MONGODB_URI, KNSHOP_SERIALIZE_DB,
// IDENTITY_DB, K_SINK,
// ADMIN_EMAIL, ADMIN_PASSWORD, TRUST_PROXY and, to tune the hashing cost,
// AUTH_ARGON2_MEMORY_KIB and AUTH_ARGON2_TIME.
func ConfigFrom(cfg map[string]string) (Config, error) {
	jc, err := jwtauth.ConfigFrom(cfg)
	if err != nil {
		return Config{}, err
	}
	if jc.PrivateKey == nil {
		return Config{}, errors.New("auth: JWT_PRIVATE_KEY is required to sign access tokens")
	}
	sc, err := identity.StoreConfig(cfg)
	if err != nil {
		return Config{}, err
	}
	c := Config{JWT: jc, Store: sc, Sink: cfg["K_SINK"], AdminEmail: identity.NormalizeEmail(cfg["ADMIN_EMAIL"]),
		AdminPassword: cfg["ADMIN_PASSWORD"], Argon2: DefaultArgon2}
	if c.Sink == "" {
		return Config{}, errors.New("auth: K_SINK is not set")
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		return Config{}, errors.New("auth: set both ADMIN_EMAIL and ADMIN_PASSWORD, or neither")
	}
	if c.AdminEmail != "" && (!identity.ValidEmail(c.AdminEmail) || len(c.AdminPassword) < MinPasswordLength) {
		return Config{}, errors.New("auth: ADMIN_EMAIL must be an email and ADMIN_PASSWORD at least 8 characters")
	}
	if v := cfg["TRUST_PROXY"]; v != "" {
		if c.TrustProxy, err = strconv.ParseBool(v); err != nil {
			return Config{}, fmt.Errorf("auth: TRUST_PROXY=%q is not a boolean", v)
		}
	}
	for key, dst := range map[string]*uint32{"AUTH_ARGON2_MEMORY_KIB": &c.Argon2.MemoryKiB, "AUTH_ARGON2_TIME": &c.Argon2.Time} {
		if v := cfg[key]; v != "" {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				return Config{}, fmt.Errorf("auth: %s=%q is not a positive integer", key, v)
			}
			*dst = uint32(n)
		}
	}
	return c, nil
}

// Auth is the auth function.
type Auth struct {
	identity.Conn // Stop closes the identity database
	cfg           Config
	routes        *jwtauth.Routes
	signer        *jwtauth.Signer
	creds         *identity.Credentials
	limits        *limiter
	sweep         bool   // delete old login windows ourselves (no TTL index)
	dummyHash     string // checked for unknown emails, so they cost what a wrong password costs
	now           func() time.Time
}

// New returns an unstarted auth function.
func New() *Auth { return &Auth{now: time.Now} }

// Start reads the configuration, opens the identity database, and ensures
// the admin account.
func (f *Auth) Start(ctx context.Context, env map[string]string) error {
	c, err := ConfigFrom(env)
	if err != nil {
		return err
	}
	f.cfg = c
	if f.signer, err = jwtauth.NewSigner(c.JWT); err != nil {
		return err
	}
	if err := f.Open(ctx, c.Store); err != nil {
		return err
	}
	log := fn.Logger(ctx)
	if f.creds, err = identity.OpenCredentials(ctx, f.DB, sink.NewHTTP(c.Sink), log); err != nil {
		return err
	}
	var ttl bool
	f.limits, ttl = newLimiter(ctx, f.DB, LoginWindow)
	f.sweep = !ttl
	if !ttl {
		log.InfoContext(ctx, "no TTL index on login attempts; old windows are swept by the function")
		if err := f.limits.sweep(ctx, f.now()); err != nil {
			return err
		}
	}
	if f.dummyHash, err = hashPassword("not a password anyone has", c.Argon2); err != nil {
		return err
	}
	if c.AdminEmail != "" {
		if err := f.ensureAdmin(ctx); err != nil {
			return err
		}
	}
	routes := jwtauth.NewRoutes(c.JWT)
	routes.Public("POST /api/auth/register", f.register)
	routes.Public("POST /api/auth/login", f.login)
	routes.Public("POST /api/auth/refresh", f.refresh)
	routes.Public("POST /api/auth/logout", f.logout)
	routes.Public("GET /api/auth/jwks.json", f.jwks)
	f.routes = routes
	return nil
}

// Handle serves the /api/auth routes.
func (f *Auth) Handle(w http.ResponseWriter, r *http.Request) { f.routes.ServeHTTP(w, r) }

// ensureAdmin creates the configured admin account once. An account that
// already holds the email is left as it is: promoting it would hand admin
// rights to whoever registered that email first.
func (f *Auth) ensureAdmin(ctx context.Context) error {
	log := fn.Logger(ctx)
	existing, err := f.creds.ByEmail(ctx, f.cfg.AdminEmail)
	if err == nil {
		if existing.Role != jwtauth.Admin {
			log.ErrorContext(ctx, "ADMIN_EMAIL belongs to an account that is not an admin; leaving it unchanged", "user", existing)
		}
		return nil
	}
	if !errors.Is(err, identity.ErrNotFound) {
		return err
	}
	_, err = f.createAccount(ctx, f.cfg.AdminEmail, f.cfg.AdminPassword, "Administrator", jwtauth.Admin)
	if errors.Is(err, identity.ErrEmailTaken) {
		return nil // another instance made it meanwhile
	}
	if err == nil {
		log.InfoContext(ctx, "admin account created")
	}
	return err
}

// createAccount hashes the password and stores the account with its
// USER_REGISTERED event.
func (f *Auth) createAccount(ctx context.Context, email, password, name string, role jwtauth.Role) (identity.Credential, error) {
	hash, err := hashPassword(password, f.cfg.Argon2)
	if err != nil {
		return identity.Credential{}, err
	}
	cred := identity.Credential{UserID: ids.New(), Email: email, Name: name, PasswordHash: hash, Role: role, CreatedAt: f.now().UTC().Truncate(time.Millisecond)}
	ev, err := events.New(ctx, Name, events.UserRegisteredData{UserID: cred.UserID, Email: email, Name: name, Role: string(role), RegisteredAt: cred.CreatedAt})
	if err != nil {
		return identity.Credential{}, err
	}
	if err := f.creds.Create(ctx, cred, ev); err != nil {
		return identity.Credential{}, err
	}
	return cred, nil
}

// userView is the user in token answers.
type userView struct {
	ID        string       `json:"id"`
	Email     string       `json:"email"`
	Name      string       `json:"name"`
	Role      jwtauth.Role `json:"role"`
	CreatedAt time.Time    `json:"createdAt"`
}

// tokenAnswer is the answer of register, login and refresh.
type tokenAnswer struct {
	User         userView `json:"user"`
	AccessToken  string   `json:"accessToken"`
	RefreshToken string   `json:"refreshToken"`
	TokenType    string   `json:"tokenType"`
	ExpiresIn    int      `json:"expiresIn"` // seconds
}

type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	Role     string `json:"role"`
}

func (f *Auth) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req registerRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	email, name := identity.NormalizeEmail(req.Email), strings.TrimSpace(req.Name)
	role := jwtauth.Role(req.Role)
	if role == "" {
		role = jwtauth.Customer
	}
	var v httpapi.Validator
	v.Check(identity.ValidEmail(email), "email", "must be an email address")
	v.Check(len(req.Password) >= MinPasswordLength, "password", "must be at least 8 characters")
	v.Check(len(req.Password) <= MaxPasswordLength, "password", "must be at most 256 bytes")
	v.Check(name != "" && len(name) <= MaxNameLength, "name", "must be 1 to 100 characters")
	v.Check(role == jwtauth.Customer || role == jwtauth.Seller, "role", "must be customer or seller")
	if err := v.Err(); err != nil {
		f.fail(w, r, err)
		return
	}
	cred, err := f.createAccount(ctx, email, req.Password, name, role)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	fn.Logger(ctx).InfoContext(ctx, "account registered", "user", cred)
	f.answerTokens(w, r, http.StatusCreated, cred, ids.New())
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (f *Auth) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req loginRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	var v httpapi.Validator
	v.Check(req.Email != "", "email", "is required")
	v.Check(req.Password != "", "password", "is required")
	v.Check(len(req.Password) <= MaxPasswordLength, "password", "must be at most 256 bytes")
	if err := v.Err(); err != nil {
		f.fail(w, r, err)
		return
	}
	email, now := identity.NormalizeEmail(req.Email), f.now()
	keys := []struct {
		key   string
		limit int64
	}{{"addr:" + f.clientAddr(r), AddressFailureLimit}, {"acct:" + email, AccountFailureLimit}}
	for _, k := range keys {
		wait, err := f.limits.take(ctx, k.key, k.limit, now)
		if err != nil {
			f.fail(w, r, err)
			return
		}
		if wait > 0 {
			fn.Logger(ctx).WarnContext(ctx, "login rate limited", "limit", strings.SplitN(k.key, ":", 2)[0])
			f.fail(w, r, rateLimited{wait})
			return
		}
	}
	if f.sweep {
		if err := f.limits.sweep(ctx, now); err != nil {
			fn.Logger(ctx).WarnContext(ctx, "sweeping old login windows failed", "error", err)
		}
	}
	cred, err := f.creds.ByEmail(ctx, email)
	hash := cred.PasswordHash
	switch {
	case errors.Is(err, identity.ErrNotFound):
		hash = f.dummyHash
	case err != nil:
		f.fail(w, r, err)
		return
	}
	ok, err := checkPassword(req.Password, hash)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if !ok || cred.UserID == "" {
		f.fail(w, r, errBadCredentials)
		return
	}
	for _, k := range keys {
		if err := f.limits.release(ctx, k.key, now); err != nil {
			fn.Logger(ctx).WarnContext(ctx, "could not give back a login attempt", "error", err)
		}
	}
	f.answerTokens(w, r, http.StatusOK, cred, ids.New())
}

type refreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

func (f *Auth) refresh(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req refreshRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	if req.RefreshToken == "" {
		f.fail(w, r, httpapi.Invalid(httpapi.FieldError{Field: "refreshToken", Message: "is required"}))
		return
	}
	t, err := f.creds.UseToken(ctx, hashToken(req.RefreshToken), f.now())
	if errors.Is(err, identity.ErrTokenReused) {
		fn.Logger(ctx).WarnContext(ctx, "a rotated refresh token was presented again; its family is revoked")
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	cred, err := f.creds.ByID(ctx, t.UserID)
	if errors.Is(err, identity.ErrNotFound) {
		err = identity.ErrTokenInvalid // the account is gone
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.answerTokens(w, r, http.StatusOK, cred, t.Family)
}

func (f *Auth) logout(w http.ResponseWriter, r *http.Request) {
	var req refreshRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	if req.RefreshToken == "" {
		f.fail(w, r, httpapi.Invalid(httpapi.FieldError{Field: "refreshToken", Message: "is required"}))
		return
	}
	if err := f.creds.RevokeToken(r.Context(), hashToken(req.RefreshToken), f.now()); err != nil {
		f.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *Auth) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpapi.JSON(w, http.StatusOK, jwtauth.KeySet(f.cfg.JWT))
}

// answerTokens issues an access token and a new refresh token in family.
func (f *Auth) answerTokens(w http.ResponseWriter, r *http.Request, status int, cred identity.Credential, family string) {
	access, _, err := f.signer.Sign(cred.UserID, cred.Role)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	refresh, err := newRefreshToken()
	if err != nil {
		f.fail(w, r, err)
		return
	}
	now := f.now().UTC()
	if err := f.creds.SaveToken(r.Context(), identity.RefreshToken{
		Hash: hashToken(refresh), Family: family, UserID: cred.UserID, CreatedAt: now, ExpiresAt: now.Add(RefreshTTL),
	}); err != nil {
		f.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.JSON(w, status, tokenAnswer{
		User:        userView{ID: cred.UserID, Email: cred.Email, Name: cred.Name, Role: cred.Role, CreatedAt: cred.CreatedAt},
		AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", ExpiresIn: int(jwtauth.AccessTTL / time.Second),
	})
}

// fail maps the function's errors onto problems, in one place.
func (f *Auth) fail(w http.ResponseWriter, r *http.Request, err error) {
	var limited rateLimited
	switch {
	case errors.Is(err, identity.ErrEmailTaken):
		err = httpapi.Conflict("an account with this email already exists")
	case errors.Is(err, errBadCredentials):
		err = httpapi.Unauthorized("the email or the password is wrong")
	case errors.Is(err, identity.ErrTokenInvalid), errors.Is(err, identity.ErrTokenReused):
		err = httpapi.Unauthorized("the refresh token is not valid")
	case errors.As(err, &limited):
		err = httpapi.TooManyRequests("too many failed logins; try again later", limited.wait)
	}
	httpapi.WriteError(w, r, fn.Logger(r.Context()), err)
}

// clientAddr is the address login failures are counted against: the
// connection's peer, or the first X-Forwarded-For entry behind a trusted
// proxy.
func (f *Auth) clientAddr(r *http.Request) string {
	if f.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// newRefreshToken returns 32 random bytes, base64url encoded.
func newRefreshToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: refresh token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashToken is the stored form of a refresh token.
func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

var _ fn.HTTPFunction = (*Auth)(nil)
