// Package users is the users function: a signed-in user's profile,
// addresses and preferences, account deletion, and the admin's look-up and
// role change. It owns the profiles of the identity database and
// announces changes with USER_UPDATED and USER_DELETED through the outbox.
package users

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/identity"
	"github.com/knshop/knshop/lib/settings"
	"github.com/knshop/knshop/lib/sink"
)

// Name is the function's name.
const Name = "users"

// Limits of what a profile holds.
const (
	MaxAddresses       = 20
	MaxPreferenceBytes = 16 << 10
	MaxNameLength      = 100
)

// Errors of the users domain, mapped to problems in fail.
var (
	errAddressNotFound = errors.New("users: address not found")
	errTooManyAdresses = errors.New("users: too many addresses")
)

// Users is the users function.
type Users struct {
	*auth.Routes // built by Start; its Handle serves the function
	profiles     *identity.Profiles
	creds        *identity.Credentials // only its role field is written, by setRole
	now          func() time.Time
}

// New returns an unstarted users function.
func New() *Users { return &Users{now: time.Now} }

// Start reads JWT_PUBLIC_KEY (and the other JWT_* keys), MONGODB_URI,
// KNSHOP_SERIALIZE_DB, IDENTITY_DATABASE and K_SINK, and opens the database.
func (f *Users) Start(ctx context.Context, cfg map[string]string) error {
	s := settings.Of(cfg)
	jc, sc, url := settings.Read(s, auth.ConfigFrom), settings.Read(s, identity.ConfigFrom), settings.Read(s, sink.URLFrom)
	if err := s.Err("users: config"); err != nil {
		return err
	}
	db, err := identity.Open(ctx, sc)
	if err := fn.Use(ctx, db, err); err != nil {
		return err
	}
	f.profiles = identity.OpenProfiles(db.Database, sink.NewHTTP(url), fn.Logger(ctx))
	if f.creds, err = identity.OpenCredentials(ctx, db.Database, nil, fn.Logger(ctx)); err != nil {
		return err
	}

	f.Routes = auth.NewRoutes(jc)
	f.SignedIn("GET /api/users/me", f.getMe)
	f.SignedIn("PATCH /api/users/me", f.patchMe)
	f.SignedIn("DELETE /api/users/me", f.deleteMe)
	f.SignedIn("POST /api/users/me/addresses", f.addAddress)
	f.SignedIn("PUT /api/users/me/addresses/{addressId}", f.putAddress)
	f.SignedIn("DELETE /api/users/me/addresses/{addressId}", f.deleteAddress)
	f.SignedIn("GET /api/users/{id}", f.getUser, auth.Admin)
	f.SignedIn("PATCH /api/users/{id}/role", f.setRole, auth.Admin)
	return nil
}

// profileView is a profile as the API shows it.
type profileView struct {
	ID          string          `json:"id"`
	Email       string          `json:"email"`
	Name        string          `json:"name"`
	Role        auth.Role       `json:"role"`
	Addresses   []addressView   `json:"addresses"`
	Preferences json.RawMessage `json:"preferences"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
}

// addressView is an address as the API shows it (the OpenAPI schema
// Address), apart from the identity store's document.
type addressView struct {
	ID         string `json:"id"`
	Label      string `json:"label,omitempty"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
	IsDefault  bool   `json:"isDefault"`
}

func addressViewOf(a identity.Address) addressView {
	return addressView{ID: a.ID, Label: a.Label, Line1: a.Line1, Line2: a.Line2, City: a.City,
		PostalCode: a.PostalCode, Country: a.Country, IsDefault: a.IsDefault}
}

func view(p identity.Profile) profileView {
	addrs := make([]addressView, 0, len(p.Addresses))
	for _, a := range p.Addresses {
		addrs = append(addrs, addressViewOf(a))
	}
	prefs := json.RawMessage(p.Preferences)
	if len(prefs) == 0 {
		prefs = json.RawMessage("{}")
	}
	return profileView{ID: p.UserID, Email: p.Email, Name: p.Name, Role: p.Role, Addresses: addrs, Preferences: prefs, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func caller(r *http.Request) string {
	c, _ := auth.FromContext(r.Context()) // the middleware put it there
	return c.UserID
}

// update applies edit to userID's profile, stamps it and writes it with a
// USER_UPDATED event of the result, and returns the profile as written.
func (f *Users) update(ctx context.Context, userID string, edit func(*identity.Profile) error) (identity.Profile, error) {
	return f.profiles.Update(ctx, userID, func(p *identity.Profile) ([]event.Event, error) {
		if err := edit(p); err != nil {
			return nil, err
		}
		p.UpdatedAt = f.now().UTC().Truncate(time.Millisecond)
		ev, err := updatedEvent(ctx, *p)
		if err != nil {
			return nil, err
		}
		return []event.Event{ev}, nil
	})
}

// answer writes the profile, or the problem err maps to.
func (f *Users) answer(w http.ResponseWriter, r *http.Request, p identity.Profile, err error) {
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, view(p))
}

// updatedEvent is USER_UPDATED carrying the whole profile as it will be
// written (its version is the one being written).
func updatedEvent(ctx context.Context, p identity.Profile) (event.Event, error) {
	addrs := make([]events.Address, 0, len(p.Addresses))
	for _, a := range p.Addresses {
		addrs = append(addrs, events.Address{ID: a.ID, Label: a.Label, Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, Country: a.Country, IsDefault: a.IsDefault})
	}
	prefs := map[string]any{}
	if p.Preferences != "" {
		if err := json.Unmarshal([]byte(p.Preferences), &prefs); err != nil {
			return event.Event{}, fmt.Errorf("users: stored preferences: %w", err)
		}
	}
	return events.New(ctx, Name, events.UserUpdatedData{
		UserID: p.UserID, Email: p.Email, Name: p.Name, Role: string(p.Role), Addresses: addrs,
		Preferences: prefs, Version: p.Version + 1, UpdatedAt: p.UpdatedAt,
	})
}

// fail maps the domain's errors onto problems, in one place.
func (f *Users) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, identity.ErrNotFound) && strings.HasPrefix(r.URL.Path, "/api/users/me"):
		p := httpapi.NotFound("profile")
		p.Detail = "profile not found: it is created moments after registration (try again shortly), and a deleted account has none"
		err = p
	case errors.Is(err, identity.ErrNotFound):
		err = httpapi.NotFound("user")
	case errors.Is(err, errAddressNotFound):
		err = httpapi.NotFound("address")
	case errors.Is(err, errTooManyAdresses):
		err = httpapi.Conflict(fmt.Sprintf("a profile holds at most %d addresses", MaxAddresses))
	case errors.Is(err, identity.ErrBusy):
		err = httpapi.Conflict("the profile is being changed by another request; try again")
	}
	httpapi.WriteError(w, r, fn.Logger(r.Context()), err)
}

var _ fn.HTTPFunction = (*Users)(nil)
