package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	jwtauth "github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/identity"
)

// Tokens: issuing access and refresh tokens, rotation, logout and the key set.

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

type refreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

func (f *Auth) refresh(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, ok := f.refreshToken(w, r)
	if !ok {
		return
	}
	t, err := f.creds.UseToken(ctx, hashToken(token), f.now())
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
	token, ok := f.refreshToken(w, r)
	if !ok {
		return
	}
	if err := f.creds.RevokeToken(r.Context(), hashToken(token), f.now()); err != nil {
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

// refreshToken reads the refresh token a request body carries; a body
// without one has been answered with its problem.
func (f *Auth) refreshToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	var req refreshRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return "", false
	}
	if req.RefreshToken == "" {
		f.fail(w, r, httpapi.Invalid(httpapi.FieldError{Field: "refreshToken", Message: "is required"}))
		return "", false
	}
	return req.RefreshToken, true
}
