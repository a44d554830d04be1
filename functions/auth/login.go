package auth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/identity"
	"github.com/knshop/knshop/lib/ids"
)

// Login: the password check behind the failed-login limits.

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
	v.Check(utf8.RuneCountInString(req.Password) <= MaxPasswordLength, "password", fmt.Sprintf("must be at most %d characters", MaxPasswordLength))
	if err := v.Err(); err != nil {
		f.fail(w, r, err)
		return
	}
	email, now, addr := identity.NormalizeEmail(req.Email), f.now(), f.clientAddr(r)
	// Three limits (docs/functions.md): a guesser at one account from one
	// address, one address trying many accounts, and one account tried from
	// many addresses, the last loose enough that the owner is not locked out.
	keys := []struct {
		key   string
		limit int64
	}{
		{"guess:" + email + "|" + addr, GuessFailureLimit},
		{"addr:" + addr, AddressFailureLimit},
		{"acct:" + email, AccountFailureLimit},
	}
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
