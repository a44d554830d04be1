package identity

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/storetest"
)

func TestUseToken(t *testing.T) {
	ctx := context.Background()
	db, err := mongostore.Open(ctx, storetest.Mongo(t, "identity"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenCredentials(ctx, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	earlier := now.Add(-time.Minute)
	saved := []RefreshToken{
		{Hash: "fresh", Family: "f1", UserID: "u", ExpiresAt: now.Add(time.Hour)},
		{Hash: "expired", Family: "f2", UserID: "u", ExpiresAt: now.Add(-time.Second)},
		{Hash: "revoked", Family: "f3", UserID: "u", ExpiresAt: now.Add(time.Hour), RevokedAt: &earlier},
		{Hash: "used", Family: "f4", UserID: "u", ExpiresAt: now.Add(time.Hour), UsedAt: &earlier},
		{Hash: "sibling of used", Family: "f4", UserID: "u", ExpiresAt: now.Add(time.Hour)},
		{Hash: "late sibling", Family: "f3", UserID: "u", ExpiresAt: now.Add(time.Hour)},
	}
	for _, tk := range saved {
		tk.CreatedAt = earlier
		if err := c.SaveToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	// In order: the reuse of "used" revokes its family first.
	steps := []struct {
		hash string
		want error
	}{
		{"fresh", nil},
		{"fresh", ErrTokenReused},
		{"expired", ErrTokenInvalid},
		{"revoked", ErrTokenInvalid},
		{"late sibling", ErrTokenInvalid}, // added to a family already revoked
		{"used", ErrTokenReused},
		{"sibling of used", ErrTokenInvalid},
		{"unknown", ErrTokenInvalid},
	}
	for _, s := range steps {
		t.Run(s.hash, func(t *testing.T) {
			got, err := c.UseToken(ctx, s.hash, now)
			if !errors.Is(err, s.want) || (s.want == nil && got.Family != "f1") {
				t.Fatalf("UseToken(%q) = %+v, %v; want %v", s.hash, got, err, s.want)
			}
		})
	}
}
