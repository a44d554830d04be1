package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	jwtauth "github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/identity"
	"github.com/knshop/knshop/lib/ids"
)

// Registration: new accounts, the configured admin among them.

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
	chars := utf8.RuneCountInString(req.Password)
	v.Check(chars >= MinPasswordLength, "password", fmt.Sprintf("must be at least %d characters", MinPasswordLength))
	v.Check(chars <= MaxPasswordLength, "password", fmt.Sprintf("must be at most %d characters", MaxPasswordLength))
	v.Check(name != "" && utf8.RuneCountInString(name) <= MaxNameLength, "name", "must be 1 to 100 characters")
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
