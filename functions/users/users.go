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
	"github.com/knshop/knshop/lib/ids"
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
	identity.Conn // Stop closes the identity database
	routes        *auth.Routes
	profiles      *identity.Profiles
	creds         *identity.Credentials // only its role field is written, by setRole
	now           func() time.Time
}

// New returns an unstarted users function.
func New() *Users { return &Users{now: time.Now} }

// Start reads JWT_PUBLIC_KEY (and the other JWT_* keys), MONGODB_URI,
// KNSHOP_SERIALIZE_DB, IDENTITY_DB and K_SINK, and opens the database.
func (f *Users) Start(ctx context.Context, cfg map[string]string) error {
	jc, err := auth.ConfigFrom(cfg)
	if err != nil {
		return err
	}
	sc, err := identity.StoreConfig(cfg)
	if err != nil {
		return err
	}
	if cfg["K_SINK"] == "" {
		return errors.New("users: K_SINK is not set")
	}
	if err := f.Open(ctx, sc); err != nil {
		return err
	}
	f.profiles = identity.OpenProfiles(f.DB, sink.NewHTTP(cfg["K_SINK"]), fn.Logger(ctx))
	if f.creds, err = identity.OpenCredentials(ctx, f.DB, nil, fn.Logger(ctx)); err != nil {
		return err
	}

	routes := auth.NewRoutes(jc)
	routes.SignedIn("GET /api/users/me", f.getMe)
	routes.SignedIn("PATCH /api/users/me", f.patchMe)
	routes.SignedIn("DELETE /api/users/me", f.deleteMe)
	routes.SignedIn("POST /api/users/me/addresses", f.addAddress)
	routes.SignedIn("PUT /api/users/me/addresses/{addressId}", f.putAddress)
	routes.SignedIn("DELETE /api/users/me/addresses/{addressId}", f.deleteAddress)
	routes.SignedIn("GET /api/users/{id}", f.getUser, auth.Admin)
	routes.SignedIn("PATCH /api/users/{id}/role", f.setRole, auth.Admin)
	f.routes = routes
	return nil
}

// Handle serves the /api/users routes.
func (f *Users) Handle(w http.ResponseWriter, r *http.Request) { f.routes.ServeHTTP(w, r) }

// profileView is a profile as the API shows it.
type profileView struct {
	ID          string             `json:"id"`
	Email       string             `json:"email"`
	Name        string             `json:"name"`
	Role        auth.Role          `json:"role"`
	Addresses   []identity.Address `json:"addresses"`
	Preferences json.RawMessage    `json:"preferences"`
	CreatedAt   time.Time          `json:"createdAt"`
	UpdatedAt   time.Time          `json:"updatedAt"`
}

func view(p identity.Profile) profileView {
	addrs := p.Addresses
	if addrs == nil {
		addrs = []identity.Address{}
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

func (f *Users) getMe(w http.ResponseWriter, r *http.Request) {
	p, err := f.profiles.Get(r.Context(), caller(r))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, view(p))
}

type patchRequest struct {
	Name        *string          `json:"name"`
	Preferences *json.RawMessage `json:"preferences"`
}

func (f *Users) patchMe(w http.ResponseWriter, r *http.Request) {
	var req patchRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	var v httpapi.Validator
	v.Check(req.Name != nil || req.Preferences != nil, "(body)", "name or preferences is required")
	var name string
	if req.Name != nil {
		name = strings.TrimSpace(*req.Name)
		v.Check(name != "" && len(name) <= MaxNameLength, "name", "must be 1 to 100 characters")
	}
	if req.Preferences != nil {
		raw := *req.Preferences
		var obj map[string]any
		v.Check(len(raw) <= MaxPreferenceBytes, "preferences", "must be at most 16 KiB")
		v.Check(json.Unmarshal(raw, &obj) == nil && obj != nil, "preferences", "must be a JSON object")
	}
	if err := v.Err(); err != nil {
		f.fail(w, r, err)
		return
	}
	p, err := f.update(r.Context(), caller(r), func(p *identity.Profile) error {
		if req.Name != nil {
			p.Name = name
		}
		if req.Preferences != nil {
			p.Preferences = string(*req.Preferences)
		}
		return nil
	})
	f.answer(w, r, p, err)
}

func (f *Users) deleteMe(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, err := f.profiles.Update(ctx, caller(r), func(p *identity.Profile) ([]event.Event, error) {
		now := f.now().UTC()
		// The tombstone keeps the id (so a late USER_REGISTERED cannot
		// bring the profile back) and drops the personal data.
		p.DeletedAt, p.UpdatedAt = &now, now
		p.Email, p.Name, p.Addresses, p.Preferences = "", "", nil, "{}"
		ev, err := events.New(ctx, Name, events.UserDeletedData{UserID: p.UserID, DeletedAt: now})
		if err != nil {
			return nil, err
		}
		return []event.Event{ev}, nil
	})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	fn.Logger(ctx).InfoContext(ctx, "account deleted", "user_id", caller(r))
	w.WriteHeader(http.StatusNoContent)
}

type addressRequest struct {
	Label      string `json:"label"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
	IsDefault  bool   `json:"isDefault"`
}

// address validates the request and returns the address it describes.
func (req addressRequest) address(id string) (identity.Address, error) {
	a := identity.Address{ID: id, Label: strings.TrimSpace(req.Label), Line1: strings.TrimSpace(req.Line1), Line2: strings.TrimSpace(req.Line2),
		City: strings.TrimSpace(req.City), PostalCode: strings.TrimSpace(req.PostalCode), Country: strings.ToUpper(strings.TrimSpace(req.Country)), IsDefault: req.IsDefault}
	var v httpapi.Validator
	v.Check(len(a.Label) <= 40, "label", "must be at most 40 characters")
	v.Check(a.Line1 != "" && len(a.Line1) <= 200, "line1", "must be 1 to 200 characters")
	v.Check(len(a.Line2) <= 200, "line2", "must be at most 200 characters")
	v.Check(a.City != "" && len(a.City) <= 100, "city", "must be 1 to 100 characters")
	v.Check(a.PostalCode != "" && len(a.PostalCode) <= 20, "postalCode", "must be 1 to 20 characters")
	v.Check(len(a.Country) >= 2 && len(a.Country) <= 56, "country", "must be a country name or code")
	return a, v.Err()
}

// putDefault makes a the default when it asks to be, clearing the others:
// a profile has one default address at most.
func putDefault(addrs []identity.Address, a identity.Address) {
	for i := range addrs {
		if addrs[i].ID == a.ID {
			addrs[i] = a
		} else if a.IsDefault {
			addrs[i].IsDefault = false
		}
	}
}

func (f *Users) addAddress(w http.ResponseWriter, r *http.Request) {
	var req addressRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	a, err := req.address(ids.New())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	_, err = f.update(r.Context(), caller(r), func(p *identity.Profile) error {
		if len(p.Addresses) >= MaxAddresses {
			return errTooManyAdresses
		}
		p.Addresses = append(p.Addresses, a)
		putDefault(p.Addresses, a)
		return nil
	})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusCreated, a)
}

func (f *Users) putAddress(w http.ResponseWriter, r *http.Request) {
	var req addressRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	a, err := req.address(r.PathValue("addressId"))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	_, err = f.update(r.Context(), caller(r), func(p *identity.Profile) error {
		if !hasAddress(p.Addresses, a.ID) {
			return errAddressNotFound
		}
		putDefault(p.Addresses, a)
		return nil
	})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, a)
}

func (f *Users) deleteAddress(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("addressId")
	_, err := f.update(r.Context(), caller(r), func(p *identity.Profile) error {
		if !hasAddress(p.Addresses, id) {
			return errAddressNotFound
		}
		kept := p.Addresses[:0]
		for _, a := range p.Addresses {
			if a.ID != id {
				kept = append(kept, a)
			}
		}
		p.Addresses = kept
		return nil
	})
	if err != nil {
		f.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func hasAddress(addrs []identity.Address, id string) bool {
	for _, a := range addrs {
		if a.ID == id {
			return true
		}
	}
	return false
}

func (f *Users) getUser(w http.ResponseWriter, r *http.Request) {
	p, err := f.profiles.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, view(p))
}

type roleRequest struct {
	Role auth.Role `json:"role"`
}

func (f *Users) setRole(w http.ResponseWriter, r *http.Request) {
	var req roleRequest
	if err := httpapi.Decode(w, r, &req); err != nil {
		f.fail(w, r, err)
		return
	}
	if !req.Role.Valid() {
		f.fail(w, r, httpapi.Invalid(httpapi.FieldError{Field: "role", Message: "must be customer, seller, courier or admin"}))
		return
	}
	id := r.PathValue("id")
	if _, err := f.profiles.Get(r.Context(), id); err != nil {
		f.fail(w, r, err)
		return
	}
	// Access tokens take the role from the credential, so it changes
	// first; the profile and its USER_UPDATED follow. Both writes are
	// idempotent: after a crash between them, the admin's retry
	// completes the change.
	if err := f.creds.SetRole(r.Context(), id, req.Role); err != nil {
		f.fail(w, r, err)
		return
	}
	p, err := f.update(r.Context(), id, func(p *identity.Profile) error {
		p.Role = req.Role
		return nil
	})
	f.answer(w, r, p, err)
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
