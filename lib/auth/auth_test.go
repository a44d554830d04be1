package auth

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func testConfig(t *testing.T) Config {
	t.Helper()
	priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFrom(EnvFor(priv))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestVerifyRejectsForgedTokens(t *testing.T) {
	cfg := testConfig(t)
	signer, err := NewSigner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	good, _, err := signer.Sign("u1", Customer)
	if err != nil {
		t.Fatal(err)
	}
	other := testConfig(t)
	otherSigner, _ := NewSigner(Config{PrivateKey: other.PrivateKey, PublicKey: other.PublicKey, KeyID: cfg.KeyID, Issuer: cfg.Issuer, Audience: cfg.Audience})
	claims := func(mut func(*tokenClaims)) tokenClaims {
		now := time.Now()
		c := tokenClaims{Role: Admin, RegisteredClaims: jwt.RegisteredClaims{
			Subject: "u1", Issuer: cfg.Issuer, Audience: jwt.ClaimStrings{cfg.Audience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)), ID: "j1",
		}}
		if mut != nil {
			mut(&c)
		}
		return c
	}
	signEd := func(priv ed25519.PrivateKey, c tokenClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["kid"] = cfg.KeyID
		s, err := tok.SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hsWithPublicKey, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil)).SignedString([]byte(cfg.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	hsWithPublicKeyB64, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil)).SignedString([]byte(base64.StdEncoding.EncodeToString(cfg.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _, err := otherSigner.Sign("u1", Admin)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		token string
		ok    bool
	}{
		"valid":                        {good, true},
		"alg none":                     {none, false},
		"HS256 with the public key":    {hsWithPublicKey, false},
		"HS256 with base64 public key": {hsWithPublicKeyB64, false},
		"another Ed25519 key":          {otherKey, false},
		"expired":                      {signEd(cfg.PrivateKey, claims(func(c *tokenClaims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) })), false},
		"no expiry":                    {signEd(cfg.PrivateKey, claims(func(c *tokenClaims) { c.ExpiresAt = nil })), false},
		"wrong audience":               {signEd(cfg.PrivateKey, claims(func(c *tokenClaims) { c.Audience = jwt.ClaimStrings{"other"} })), false},
		"wrong issuer":                 {signEd(cfg.PrivateKey, claims(func(c *tokenClaims) { c.Issuer = "evil" })), false},
		"unknown role":                 {signEd(cfg.PrivateKey, claims(func(c *tokenClaims) { c.Role = "root" })), false},
		"no subject":                   {signEd(cfg.PrivateKey, claims(func(c *tokenClaims) { c.Subject = "" })), false},
		"garbage":                      {"not.a.token", false},
		"tampered payload":             {good[:len(good)-4] + "AAAA", false},
	}
	v := NewVerifier(cfg)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := v.Verify(tc.token)
			if tc.ok && (err != nil || c.UserID != "u1" || c.Role != Customer) {
				t.Fatalf("Verify(valid) = %+v, %v", c, err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("Verify accepted a forged token: %+v", c)
			}
		})
	}
}

func TestMiddlewareStatus(t *testing.T) {
	cfg := testConfig(t)
	signer, _ := NewSigner(cfg)
	customer, _, _ := signer.Sign("c1", Customer)
	admin, _, _ := signer.Sign("a1", Admin)
	h := Middleware(NewVerifier(cfg), Admin)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := FromContext(r.Context())
		if !ok || c.UserID != "a1" {
			t.Errorf("claims in context = %+v, %v", c, ok)
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	cases := map[string]struct {
		header string
		want   int
	}{
		"no header":        {"", 401},
		"basic auth":       {"Basic dTpw", 401},
		"customer":         {"Bearer " + customer, 403},
		"admin":            {"Bearer " + admin, 418},
		"lowercase bearer": {"bearer " + admin, 418},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/api/users/x", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tc.want, w.Body.String())
			}
			if tc.want == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

func TestConfigFromRejectsMismatchedKeys(t *testing.T) {
	a, _ := GenerateKey()
	b, _ := GenerateKey()
	env := EnvFor(a)
	env["JWT_PUBLIC_KEY"] = EnvFor(b)["JWT_PUBLIC_KEY"]
	if _, err := ConfigFrom(env); err == nil {
		t.Fatal("ConfigFrom accepted a public key that does not match the private key")
	}
	if _, err := ConfigFrom(map[string]string{}); err == nil {
		t.Fatal("ConfigFrom accepted no key at all")
	}
	pubOnly := map[string]string{"JWT_PUBLIC_KEY": EnvFor(a)["JWT_PUBLIC_KEY"]}
	cfg, err := ConfigFrom(pubOnly)
	if err != nil || cfg.PrivateKey != nil {
		t.Fatalf("public-only config = %v, %v", cfg.PrivateKey != nil, err)
	}
	if _, err := NewSigner(cfg); err == nil {
		t.Fatal("a signer was built without a private key")
	}
	if ks := KeySet(cfg); len(ks.Keys) != 1 || ks.Keys[0].Kty != "OKP" || ks.Keys[0].Crv != "Ed25519" {
		t.Fatalf("KeySet = %+v", ks)
	}
}
