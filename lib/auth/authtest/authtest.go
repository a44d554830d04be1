// Package authtest gives tests a signing key and tokens for any user and
// role, and the environment that makes a function verify them.
package authtest

import (
	"testing"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/storetest"
)

// Keys is a test key pair.
type Keys struct {
	Env    map[string]string // JWT_* entries for a function's cfg
	Config auth.Config
	signer *auth.Signer
}

// New makes a fresh key pair.
func New(t testing.TB) *Keys {
	t.Helper()
	priv, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	env := auth.EnvFor(priv)
	cfg, err := auth.ConfigFrom(env)
	if err != nil {
		t.Fatal(err)
	}
	s, err := auth.NewSigner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Keys{Env: env, Config: cfg, signer: s}
}

// Token returns a valid access token for userID with role.
func (k *Keys) Token(t testing.TB, userID string, role auth.Role) string {
	t.Helper()
	tok, _, err := k.signer.Sign(userID, role)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Bearer returns the Authorization header value for userID with role.
func (k *Keys) Bearer(t testing.TB, userID string, role auth.Role) string {
	return "Bearer " + k.Token(t, userID, role)
}

// Call sends method url as user with role (storetest.Call), signed with
// k; an empty role sends no token.
func (k *Keys) Call(t testing.TB, method, url, user string, role auth.Role, body string, header ...string) storetest.Answer {
	t.Helper()
	token := ""
	if role != "" {
		token = k.Bearer(t, user, role)
	}
	return storetest.Call(t, method, url, token, body, header...)
}
