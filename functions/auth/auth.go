// Package auth is the auth function: registration, login, refresh-token
// rotation, logout and the JSON Web Key Set of the access-token key. It
// owns the credentials, refresh tokens and login counters of the identity
// database and announces new accounts with USER_REGISTERED.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	jwtauth "github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/identity"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/settings"
	"github.com/knshop/knshop/lib/sink"
)

// Name is the function's name: its event source and its Service.
const Name = "auth"

// Limits of the login rate limiter and of the tokens.
const (
	// GuessFailureLimit stops a guesser: failed logins per account from one
	// client address per window. The owner, from another address, still
	// gets in.
	GuessFailureLimit = 5
	// AddressFailureLimit stops one address trying many accounts.
	AddressFailureLimit = 20
	// AccountFailureLimit bounds guessing spread over many addresses; it
	// is much looser than GuessFailureLimit so that one address, or a few,
	// cannot lock an owner out.
	AccountFailureLimit = 100
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
// IDENTITY_DATABASE, K_SINK,
// ADMIN_EMAIL, ADMIN_PASSWORD, TRUST_PROXY and, to tune the hashing cost,
// AUTH_ARGON2_MEMORY_KIB and AUTH_ARGON2_TIME.
func ConfigFrom(cfg map[string]string) (Config, error) {
	s := settings.Of(cfg)
	c := Config{JWT: settings.Read(s, jwtauth.ConfigFrom), Store: settings.Read(s, identity.ConfigFrom),
		Sink: settings.Read(s, sink.URLFrom), AdminEmail: identity.NormalizeEmail(cfg["ADMIN_EMAIL"]),
		AdminPassword: cfg["ADMIN_PASSWORD"], Argon2: DefaultArgon2}
	if c.JWT.PrivateKey == nil && cfg["JWT_PRIVATE_KEY"] == "" {
		s.Check(errors.New("JWT_PRIVATE_KEY is required to sign access tokens"))
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		s.Check(errors.New("set both ADMIN_EMAIL and ADMIN_PASSWORD, or neither"))
	} else if c.AdminEmail != "" && (!identity.ValidEmail(c.AdminEmail) || utf8.RuneCountInString(c.AdminPassword) < MinPasswordLength) {
		s.Check(errors.New("ADMIN_EMAIL must be an email and ADMIN_PASSWORD at least 8 characters"))
	}
	if v := cfg["TRUST_PROXY"]; v != "" {
		var err error
		if c.TrustProxy, err = strconv.ParseBool(v); err != nil {
			s.Check(fmt.Errorf("TRUST_PROXY=%q is not a boolean", v))
		}
	}
	for key, dst := range map[string]*uint32{"AUTH_ARGON2_MEMORY_KIB": &c.Argon2.MemoryKiB, "AUTH_ARGON2_TIME": &c.Argon2.Time} {
		if v := cfg[key]; v != "" {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				s.Check(fmt.Errorf("%s=%q is not a positive integer", key, v))
			}
			*dst = uint32(n)
		}
	}
	return c, s.Err("auth: config")
}

// Auth is the auth function.
type Auth struct {
	*jwtauth.Routes // built by Start; its Handle serves the function
	cfg             Config
	signer          *jwtauth.Signer
	creds           *identity.Credentials
	limits          *limiter
	sweep           bool   // delete old login windows ourselves (no TTL index)
	dummyHash       string // checked for unknown emails, so they cost what a wrong password costs
	now             func() time.Time
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
	db, err := identity.Open(ctx, c.Store)
	if err := fn.Use(ctx, db, err); err != nil {
		return err
	}
	log := fn.Logger(ctx)
	if f.creds, err = identity.OpenCredentials(ctx, db.Database, sink.NewHTTP(c.Sink), log); err != nil {
		return err
	}
	var ttl bool
	f.limits, ttl = newLimiter(ctx, db.Database, LoginWindow)
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
	f.Routes = jwtauth.NewRoutes(c.JWT)
	f.Public("POST /api/auth/register", f.register)
	f.Public("POST /api/auth/login", f.login)
	f.Public("POST /api/auth/refresh", f.refresh)
	f.Public("POST /api/auth/logout", f.logout)
	f.Public("GET /api/auth/jwks.json", f.jwks)
	return nil
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

var _ fn.HTTPFunction = (*Auth)(nil)
